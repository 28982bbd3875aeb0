-- The benchmark baseline: the essential work of partnerscore as hand-written DuckDB SQL.
--
-- It recomputes the partner scores and bands of docs/methodology.md sections 1-7 from the
-- landing extracts and the scoring configuration seeds, independently of the dbt models:
-- load every extract, keep the current row per key, convert money to USD, aggregate to
-- partner-month facts, sum them over each metric's trailing window for every month and
-- quarter, size-normalize, normalize within the peer segment, weight with the scorecard version
-- of the period and band with hysteresis. Not part of the essential work, so left out: ranks and
-- percentiles in the segment, score changes and trends, benchmarks, next steps, tier
-- recommendations, change explanations, snapshots, lineage, quarantine and quality checks.
--
-- `orchestration/bench/baseline.py` runs each `-- step:` block in order and times it;
-- `{landing}` is the landing directory and `{seeds}` the seeds directory. Column types are
-- spelled out from the extract contract (orchestration/extracts.py), as someone writing this by
-- hand would: it spares DuckDB sniffing every file.
--
-- What it assumes of the landing zone (true of what `partnerscore generate` writes):
-- * the file formats are the generator's: CRM extracts as CSV (optionally gzipped), portal
--   events as JSON lines, LMS records as xAPI statements (JSON lines); timestamps are UTC ('Z');
-- * every entity has at least one extract (a file pattern that matches nothing is an error);
-- * every row is valid, so ingest quarantines nothing and no quality check blocks a batch:
--   blocked batches (raw_meta.blocked_batches) are not modelled;
-- * there are no partner-ops corrections (raw_meta.corrections, fed from the data dir's
--   `corrections` folder): staging's corrections step is not modelled.
-- `source_row` is the row's position in the scan of the entity's files, which orders rows
-- within one extract as the ingest's `_source_row` does (one file per extract); portal events
-- are deduplicated without it (see current_events).

-- step: load_seeds
-- The scoring configuration, read straight from the seed files with the types of seeds/_seeds.yml.
create or replace table fx_rates as
select * from read_csv(
    '{seeds}/fx_rates.csv', header = true,
    columns = {currency: 'varchar', month: 'date', usd_per_unit: 'double'}
);
create or replace table metric_catalog as
select * from read_csv(
    '{seeds}/scoring_metric_catalog.csv', header = true,
    columns = {
        metric_key: 'varchar', description: 'varchar', source: 'varchar',
        indicator_type: 'varchar', direction: 'varchar', metric_kind: 'varchar',
        normalization: 'varchar', winsor_lower_pct: 'double', winsor_upper_pct: 'double',
        missing_rule: 'varchar', min_denominator: 'double', window_months: 'integer',
        size_basis: 'varchar', base_metric: 'varchar', improvement_action: 'varchar'
    }
);
create or replace table scoring_weights as
select * from read_csv(
    '{seeds}/scoring_weights.csv', header = true,
    columns = {
        version: 'varchar', partner_type: 'varchar', metric_key: 'varchar', weight: 'double',
        is_core: 'boolean'
    }
);
create or replace table scorecard_versions as
select * from read_csv(
    '{seeds}/scorecard_versions.csv', header = true,
    columns = {
        version: 'varchar', effective_from: 'date', effective_to: 'date',
        published_at: 'timestamp', description: 'varchar', peer_segment: 'varchar',
        min_peer_group_size: 'integer', fallback_segment: 'varchar',
        early_warning_drop_points: 'double', hysteresis_points: 'double'
    }
);
create or replace table scorecard_rescorings as
select * from read_csv(
    '{seeds}/scorecard_rescorings.csv', header = true,
    columns = {
        rescoring_id: 'varchar', from_period: 'date', to_period: 'date', version: 'varchar',
        decided_by: 'varchar', decided_at: 'timestamp', reason: 'varchar'
    }
);
create or replace table scoring_bands as
select * from read_csv(
    '{seeds}/scoring_bands.csv', header = true,
    columns = {
        version: 'varchar', band: 'varchar', band_order: 'integer', min_score: 'double',
        max_score: 'double'
    }
);
create or replace table activity_points as
select * from read_csv(
    '{seeds}/activity_points.csv', header = true,
    columns = {
        activity_type: 'varchar', source: 'varchar', points: 'double',
        monthly_cap_points: 'double', description: 'varchar'
    }
);

-- step: load_partners
-- Every row of every extract: each monthly extract restates every partner.
create or replace table partners as
select
    partner_id,
    lower(partner_type) as partner_type,
    lower(tier) as tier,
    upper(region) as region,
    lower(segment) as segment,
    joined_date,
    lower(status) as status,
    employee_count,
    regexp_extract(filename, '/(\d{4}-\d{2}-\d{2})/[^/]+$', 1)::date as extract_date,
    ordinality as source_row,
from read_csv(
    '{landing}/crm/partners/*/*.csv*',
    header = true,
    filename = true,
    columns = {
        partner_id: 'varchar',
        partner_name: 'varchar',
        partner_type: 'varchar',
        tier: 'varchar',
        region: 'varchar',
        country: 'varchar',
        segment: 'varchar',
        joined_date: 'date',
        status: 'varchar',
        parent_partner_id: 'varchar',
        employee_count: 'bigint'
    }
) with ordinality;

-- step: load_opportunities
create or replace table opportunities as
select
    * exclude (filename, ordinality),
    regexp_extract(filename, '/(\d{4}-\d{2}-\d{2})/[^/]+$', 1)::date as extract_date,
    ordinality as source_row,
from read_csv(
    '{landing}/crm/opportunities/*/*.csv*',
    header = true,
    filename = true,
    columns = {
        opportunity_id: 'varchar',
        partner_id: 'varchar',
        customer_id: 'varchar',
        amount: 'decimal(18, 2)',
        currency: 'varchar',
        stage: 'varchar',
        created_date: 'date',
        closed_date: 'date',
        is_won: 'boolean',
        product_line: 'varchar',
        deal_registration_id: 'varchar'
    }
) with ordinality;

-- step: load_deal_registrations
create or replace table deal_registrations as
select
    * exclude (filename, ordinality),
    regexp_extract(filename, '/(\d{4}-\d{2}-\d{2})/[^/]+$', 1)::date as extract_date,
    ordinality as source_row,
from read_csv(
    '{landing}/crm/deal_registrations/*/*.csv*',
    header = true,
    filename = true,
    columns = {
        deal_registration_id: 'varchar',
        partner_id: 'varchar',
        customer_id: 'varchar',
        submitted_date: 'date',
        decided_date: 'date',
        status: 'varchar',
        estimated_value: 'decimal(18, 2)',
        currency: 'varchar'
    }
) with ordinality;

-- step: load_leads
create or replace table leads as
select
    * exclude (filename, ordinality),
    regexp_extract(filename, '/(\d{4}-\d{2}-\d{2})/[^/]+$', 1)::date as extract_date,
    ordinality as source_row,
from read_csv(
    '{landing}/crm/leads/*/*.csv*',
    header = true,
    filename = true,
    columns = {
        lead_id: 'varchar',
        partner_id: 'varchar',
        created_date: 'date',
        lead_source: 'varchar',
        is_converted: 'boolean',
        converted_date: 'date',
        opportunity_id: 'varchar'
    }
) with ordinality;

-- step: load_csat_responses
create or replace table csat_responses as
select
    * exclude (filename, ordinality),
    regexp_extract(filename, '/(\d{4}-\d{2}-\d{2})/[^/]+$', 1)::date as extract_date,
    ordinality as source_row,
from read_csv(
    '{landing}/crm/csat_responses/*/*.csv*',
    header = true,
    filename = true,
    columns = {
        response_id: 'varchar',
        partner_id: 'varchar',
        customer_id: 'varchar',
        survey_type: 'varchar',
        score: 'double',
        responded_at: 'timestamp'
    }
) with ordinality;

-- step: load_renewals
create or replace table renewals as
select
    * exclude (filename, ordinality),
    regexp_extract(filename, '/(\d{4}-\d{2}-\d{2})/[^/]+$', 1)::date as extract_date,
    ordinality as source_row,
from read_csv(
    '{landing}/crm/renewals/*/*.csv*',
    header = true,
    filename = true,
    columns = {
        renewal_id: 'varchar',
        partner_id: 'varchar',
        customer_id: 'varchar',
        contract_end_date: 'date',
        renewal_status: 'varchar',
        original_amount: 'decimal(18, 2)',
        renewed_amount: 'decimal(18, 2)',
        currency: 'varchar'
    }
) with ordinality;

-- step: load_activity_events
-- Only the columns scoring reads: `properties` feeds no metric. No row numbers here: numbering
-- the rows of a JSON scan doubles its time at scale S, and events need none (below).
create or replace table activity_events as
select
    event_id,
    partner_id,
    user_id,
    lower(event_type) as event_type,
    occurred_at,
    regexp_extract(filename, '/(\d{4}-\d{2}-\d{2})/[^/]+$', 1)::date as extract_date,
from read_json(
    '{landing}/portal/activity_events/*/*.jsonl*',
    format = 'newline_delimited',
    filename = true,
    columns = {
        event_id: 'varchar',
        partner_id: 'varchar',
        user_id: 'varchar',
        event_type: 'varchar',
        occurred_at: 'timestamp'
    }
);

-- step: load_learning_records
-- xAPI statements: course and verb are the last segment of their IRI, the partner, course kind
-- and certification expiry are extensions.
create or replace table learning_records as
select
    id as record_id,
    actor.account.name as learner_id,
    context.extensions['https://partnerscore.dev/xapi/partner-id'] as partner_id,
    regexp_extract(object.id, '[^/]*$') as course_id,
    lower(object.definition.extensions['https://partnerscore.dev/xapi/course-kind'])
        as course_kind,
    lower(regexp_extract(verb.id, '[^/]*$')) as verb,
    "timestamp" as occurred_at,
    context.extensions['https://partnerscore.dev/xapi/certification-expires']::date
        as certification_expires_date,
    regexp_extract(filename, '/(\d{4}-\d{2}-\d{2})/[^/]+$', 1)::date as extract_date,
    ordinality as source_row,
from read_json(
    '{landing}/lms/learning_records/*/*.jsonl*',
    format = 'newline_delimited',
    filename = true,
    columns = {
        id: 'varchar',
        actor: 'struct(account struct(name varchar))',
        verb: 'struct(id varchar)',
        object: 'struct(id varchar, definition struct(extensions map(varchar, varchar)))',
        context: 'struct(extensions map(varchar, varchar))',
        "timestamp": 'timestamp'
    }
) with ordinality;

-- step: current_records
-- One row per key, as staging keeps it: the latest extract, then the highest source row.
-- Money in USD at the rate of the amount's month (opportunities: close date, else created
-- date), clamped to the seeded months; an empty currency is USD, an unknown one gives null.
create or replace table current_opportunities as
with
latest as (
    select * from opportunities
    where opportunity_id is not null
    qualify row_number() over (
        partition by opportunity_id order by extract_date desc, source_row desc
    ) = 1
),
fx_range as (
    select min(month) as first_month, max(month) as last_month from fx_rates
)
select
    latest.partner_id,
    latest.created_date,
    latest.closed_date,
    coalesce(latest.is_won, lower(latest.stage) = 'closed_won') as is_won,
    lower(latest.stage) in ('closed_won', 'closed_lost') as is_closed,
    latest.amount * fx_rates.usd_per_unit as amount_usd,
from latest
cross join fx_range
left join fx_rates
    on fx_rates.currency = upper(coalesce(latest.currency, 'USD'))
    and fx_rates.month = least(
        greatest(
            date_trunc('month', coalesce(latest.closed_date, latest.created_date)),
            fx_range.first_month
        ),
        fx_range.last_month
    );

create or replace table current_deal_registrations as
select partner_id, submitted_date, decided_date, lower(status) as status,
from deal_registrations
where deal_registration_id is not null
qualify row_number() over (
    partition by deal_registration_id order by extract_date desc, source_row desc
) = 1;

create or replace table current_leads as
select partner_id, created_date, is_converted,
from leads
where lead_id is not null
qualify row_number() over (partition by lead_id order by extract_date desc, source_row desc) = 1;

create or replace table current_csat_responses as
select partner_id, lower(survey_type) as survey_type, score, responded_at::date as responded_date,
from csat_responses
where response_id is not null
qualify row_number() over (
    partition by response_id order by extract_date desc, source_row desc
) = 1;

create or replace table current_renewals as
select partner_id, contract_end_date, lower(renewal_status) as renewal_status,
from renewals
where renewal_id is not null
qualify row_number() over (partition by renewal_id order by extract_date desc, source_row desc) = 1;

create or replace table current_learning_records as
select partner_id, learner_id, course_id, course_kind, verb, occurred_at::date as occurred_date,
    certification_expires_date,
from learning_records
where record_id is not null
qualify row_number() over (partition by record_id order by extract_date desc, source_row desc) = 1;

-- step: current_events
-- One row per event id: a re-delivered event keeps its latest extract's row. Events are
-- append-only, so an id twice in one extract is a duplicate delivery and either row will do
-- (staging takes the highest row number, which across part files means no more than that).
-- Nearly every event arrives once: only the ids delivered again are ranked, which at 10 M
-- events is a fifth faster than ranking them all.
create or replace table current_events as
with
delivered_again as (
    select event_id from activity_events
    where event_id is not null
    group by event_id
    having count(*) > 1
)
select partner_id, user_id, event_type, occurred_at::date as occurred_date,
from activity_events
anti join delivered_again using (event_id)
where event_id is not null
union all
select partner_id, user_id, event_type, occurred_at::date,
from (
    select * from activity_events
    semi join delivered_again using (event_id)
    qualify row_number() over (partition by event_id order by extract_date desc) = 1
);

-- step: periods
-- Every month from the first to the last month with activity (opportunity created, portal
-- event, learning record) and the quarters of those months; complete once the data reaches the
-- period's last day. Version: the one in effect at the period start, unless the latest
-- rescoring decision covering the period start names another.
create or replace table periods as
with
activity_dates as (
    select created_date as activity_date from current_opportunities
    union all
    select occurred_date from current_events
    union all
    select occurred_date from current_learning_records
),
bounds as (
    select
        date_trunc('month', min(activity_date)) as first_month,
        date_trunc('month', max(activity_date)) as last_month,
        max(activity_date) as data_through_date,
    from activity_dates
),
months as (
    select unnest(generate_series(first_month, last_month, interval 1 month))::date as month
    from bounds
),
calendar as (
    select distinct 'month' as period_grain, month as period_start,
        last_day(month) as period_end,
    from months
    union all
    select distinct 'quarter', date_trunc('quarter', month)::date,
        last_day(date_trunc('quarter', month) + interval 2 month),
    from months
),
rescored as (
    select calendar.period_grain, calendar.period_start, scorecard_rescorings.rescoring_id,
        scorecard_rescorings.version,
    from calendar
    join scorecard_rescorings
        on calendar.period_start between scorecard_rescorings.from_period
        and scorecard_rescorings.to_period
    qualify row_number() over (
        partition by calendar.period_grain, calendar.period_start
        order by scorecard_rescorings.decided_at desc, scorecard_rescorings.rescoring_id desc
    ) = 1
)
select
    calendar.*,
    calendar.period_end <= bounds.data_through_date as is_period_complete,
    coalesce(rescored.version, in_effect.version) as scorecard_version,
    rescored.rescoring_id,
from calendar
cross join bounds
left join scorecard_versions as in_effect
    on in_effect.effective_from <= calendar.period_start
    and (in_effect.effective_to is null or calendar.period_start < in_effect.effective_to)
left join rescored using (period_grain, period_start);

-- step: partner_periods
-- Who is scored in each period, with the attributes of the partners extract in force the day
-- after the period ends (the partner's first extract for periods before it): joined by the
-- period end and not terminated. Peer segment: type and region, else (too few partners) the
-- type, else all partners. Capacity for per-employee metrics: the headcount when positive,
-- else the median positive headcount of the type in the period, else of all, else 1.
create or replace table partner_periods as
with
partner_extracts as (
    -- one row per partner per extract: the last row of the partner in that extract
    select * from partners
    where partner_id is not null
    qualify row_number() over (
        partition by partner_id, extract_date order by source_row desc
    ) = 1
),
first_extracts as (
    select partner_id, min(extract_date) as first_extract_date,
    from partner_extracts
    group by partner_id
),
partner_calendar as (
    select first_extracts.*, periods.*, periods.period_end + 1 as attributes_as_of_date,
    from first_extracts
    cross join periods
),
in_force as (
    select partner_calendar.*, partner_extracts.extract_date as in_force_extract_date,
    from partner_calendar
    asof left join partner_extracts
        on partner_extracts.partner_id = partner_calendar.partner_id
        and partner_extracts.extract_date <= partner_calendar.attributes_as_of_date
),
scored as (
    select
        in_force.partner_id,
        in_force.period_grain,
        in_force.period_start,
        in_force.period_end,
        in_force.is_period_complete,
        in_force.scorecard_version,
        attributes.partner_type,
        attributes.region,
        case when attributes.employee_count > 0 then attributes.employee_count end
            as employee_count,
        attributes.extract_date as attributes_extract_date,
    from in_force
    join partner_extracts as attributes
        on attributes.partner_id = in_force.partner_id
        and attributes.extract_date
        = coalesce(in_force.in_force_extract_date, in_force.first_extract_date)
    where attributes.joined_date <= in_force.period_end
        and attributes.status <> 'terminated'
),
group_sizes as (
    select
        scored.*,
        count(*) over (partition by period_grain, period_start, partner_type, region)
            as type_region_partners,
        count(*) over (partition by period_grain, period_start, partner_type) as type_partners,
        coalesce(
            employee_count,
            median(employee_count) over (partition by period_grain, period_start, partner_type),
            median(employee_count) over (partition by period_grain, period_start),
            1
        )::double as employee_capacity,
    from scored
)
select
    group_sizes.* exclude (type_region_partners, type_partners, employee_count),
    case
        when versions.peer_segment = 'partner_type_region'
            and type_region_partners >= versions.min_peer_group_size
            then partner_type || ' / ' || region
        when (
            versions.peer_segment = 'partner_type'
            or (
                versions.peer_segment = 'partner_type_region'
                and versions.fallback_segment = 'partner_type'
            )
        )
            and type_partners >= versions.min_peer_group_size
            then partner_type
        else 'all'
    end as peer_segment,
    versions.hysteresis_points,
from group_sizes
join scorecard_versions as versions on versions.version = group_sizes.scorecard_version;

-- step: monthly_facts
-- Per partner, metric and calendar month: the numerator and denominator each metric sums over
-- its trailing window (methodology section 4). Volumes count in the numerator, ratios put the
-- successes (or the summed measure) over the eligible records.
create or replace table monthly_facts as
with
record_facts as (
    select partner_id, 'closed_won_revenue' as metric_key, closed_date as fact_date,
        amount_usd as numerator, 1 as denominator,
    from current_opportunities
    where is_won and closed_date is not null and amount_usd is not null
    union all
    select partner_id, 'pipeline_created', created_date, amount_usd, 1,
    from current_opportunities
    where amount_usd is not null
    union all
    select partner_id, 'win_rate', closed_date, case when is_won then 1 else 0 end, 1,
    from current_opportunities
    where is_closed and closed_date is not null
    union all
    select partner_id, 'deal_velocity_days', closed_date,
        date_diff('day', created_date, closed_date), 1,
    from current_opportunities
    where is_won and closed_date is not null and closed_date >= created_date
    union all
    select partner_id, 'deal_registrations', submitted_date, 1, 1,
    from current_deal_registrations
    union all
    select partner_id, 'deal_registration_approval_rate', decided_date,
        case when status = 'approved' then 1 else 0 end, 1,
    from current_deal_registrations
    where status in ('approved', 'rejected') and decided_date is not null
    union all
    select partner_id, 'lead_conversion_rate', created_date,
        case when is_converted then 1 else 0 end, 1,
    from current_leads
    union all
    select partner_id, 'renewal_rate', contract_end_date,
        case when renewal_status = 'renewed' then 1 else 0 end, 1,
    from current_renewals
    where renewal_status in ('renewed', 'churned')
    union all
    -- CSAT 1-5 and NPS 0-10 on one 0-100 scale; values off their scale are ignored
    select partner_id, 'customer_satisfaction', responded_date,
        case
            when survey_type = 'csat' and score between 1 and 5 then (score - 1) * 25
            when survey_type = 'nps' and score between 0 and 10 then score * 10
        end as satisfaction,
        1,
    from current_csat_responses
    where satisfaction is not null
    union all
    -- a learner's first completion or pass of a course
    select partner_id, 'training_completions', min(occurred_date), 1, 1,
    from current_learning_records
    where verb in ('completed', 'passed')
    group by partner_id, learner_id, course_id
    union all
    select partner_id, 'event_attendance', occurred_date, 1, 1,
    from current_events
    where event_type = 'event_attendance'
    union all
    -- active user-days
    select partner_id, 'portal_engagement', occurred_date, 1, 1,
    from current_events
    group by partner_id, user_id, occurred_date
),
activities as (
    -- activities that earn points: portal events by type, LMS completions and passes
    select partner_id, date_trunc('month', occurred_date) as month, event_type as activity_type,
    from current_events
    union all
    select
        partner_id,
        date_trunc('month', occurred_date),
        case
            when verb = 'passed' and course_kind in ('certification', 'specialization')
                then 'certification_passed'
            else 'course_completed'
        end,
    from current_learning_records
    where verb in ('completed', 'passed') and occurred_date is not null
),
points_by_type as (
    -- points are capped per activity type and month
    select
        activities.partner_id,
        activities.month,
        count(*) as activity_count,
        least(count(*) * any_value(activity_points.points),
            any_value(activity_points.monthly_cap_points)) as capped_points,
    from activities
    join activity_points using (activity_type)
    group by activities.partner_id, activities.month, activities.activity_type
)
select partner_id, metric_key, date_trunc('month', fact_date)::date as month,
    sum(numerator::double) as numerator, sum(denominator::double) as denominator,
from record_facts
where fact_date is not null and partner_id is not null
group by all
union all
select partner_id, 'activity_points', month::date, sum(capped_points), sum(activity_count),
from points_by_type
where partner_id is not null
group by all;

-- step: partner_metrics
-- Raw value of every catalog metric per scored partner-period: the facts summed over the
-- metric's trailing window of window_months months ending with the period's last month
-- (quarters: at least 3). Volumes: the sum (0 without activity). Ratios: numerator over
-- denominator once the denominator reaches max(min_denominator, 1), else missing.
-- active_certifications: distinct learner-course certifications held at the period end.
-- per_employee variants divide their base metric's value by the partner's capacity.
create or replace table partner_metrics as
with
metric_windows as (
    -- the facts each catalog metric sums, and over how many months, per grain
    select
        metric_catalog.metric_key,
        coalesce(metric_catalog.base_metric, metric_catalog.metric_key) as fact_metric_key,
        grains.period_grain,
        case when grains.period_grain = 'quarter' then greatest(metric_catalog.window_months, 3)
            else metric_catalog.window_months end as window_months,
    from metric_catalog
    cross join (select distinct period_grain from periods) as grains
),
fact_windows as (
    -- a per-employee variant shares its base metric's sums
    select distinct period_grain, fact_metric_key, window_months,
    from metric_windows
    where fact_metric_key <> 'active_certifications'
),
period_window_months as (
    -- each period's trailing window, month by month, per window length in use
    select distinct
        periods.period_grain,
        periods.period_start,
        lengths.window_months,
        unnest(generate_series(
            date_trunc('month', periods.period_end) - to_months(lengths.window_months - 1),
            date_trunc('month', periods.period_end),
            interval 1 month
        ))::date as month,
    from periods
    join (select distinct period_grain, window_months from fact_windows) as lengths
        using (period_grain)
),
window_sums as (
    select
        monthly_facts.partner_id,
        period_window_months.period_grain,
        period_window_months.period_start,
        fact_windows.fact_metric_key,
        fact_windows.window_months,
        sum(monthly_facts.numerator) as numerator,
        sum(monthly_facts.denominator) as denominator,
    from monthly_facts
    join fact_windows on fact_windows.fact_metric_key = monthly_facts.metric_key
    join period_window_months
        on period_window_months.period_grain = fact_windows.period_grain
        and period_window_months.window_months = fact_windows.window_months
        and period_window_months.month = monthly_facts.month
    group by all
),
certifications as (
    select partner_id, learner_id, course_id, occurred_date as passed_date,
        certification_expires_date,
    from current_learning_records
    where verb = 'passed' and course_kind in ('certification', 'specialization')
        and occurred_date is not null and learner_id is not null and course_id is not null
),
held_certifications as (
    select
        partner_periods.partner_id,
        partner_periods.period_grain,
        partner_periods.period_start,
        count(distinct (certifications.learner_id, certifications.course_id))::double
            as held,
    from partner_periods
    join certifications
        on certifications.partner_id = partner_periods.partner_id
        and certifications.passed_date <= partner_periods.period_end
        and (
            certifications.certification_expires_date is null
            or certifications.certification_expires_date > partner_periods.period_end
        )
    group by all
),
raw_values as (
    select
        partner_periods.partner_id,
        partner_periods.period_grain,
        partner_periods.period_start,
        metric_catalog.metric_key,
        case
            when coalesce(metric_catalog.base_metric, metric_catalog.metric_key)
                = 'active_certifications'
                then coalesce(held_certifications.held, 0)
            when metric_catalog.metric_kind = 'volume' then coalesce(window_sums.numerator, 0)
            when window_sums.denominator >= greatest(metric_catalog.min_denominator, 1)
                then window_sums.numerator / window_sums.denominator
        end as raw_value,
        metric_catalog.size_basis,
        partner_periods.employee_capacity,
    from partner_periods
    cross join metric_catalog
    join metric_windows
        on metric_windows.metric_key = metric_catalog.metric_key
        and metric_windows.period_grain = partner_periods.period_grain
    left join window_sums
        on window_sums.partner_id = partner_periods.partner_id
        and window_sums.period_grain = partner_periods.period_grain
        and window_sums.period_start = partner_periods.period_start
        and window_sums.fact_metric_key = metric_windows.fact_metric_key
        and window_sums.window_months = metric_windows.window_months
    left join held_certifications
        on held_certifications.partner_id = partner_periods.partner_id
        and held_certifications.period_grain = partner_periods.period_grain
        and held_certifications.period_start = partner_periods.period_start
)
select
    partner_id,
    period_grain,
    period_start,
    metric_key,
    case when size_basis = 'per_employee' then raw_value / employee_capacity else raw_value end
        as raw_value,
from raw_values;

-- step: normalized_metrics
-- Each raw value on 0-100 within the partner's peer segment, period and metric, among the
-- partners whose value is not missing. A segment holds every partner sharing its keys (a
-- partner compared by type is ranked among all partners of the type, whatever their own
-- segment). percentile_rank: 100 x (values below + (ties - 1) / 2) / (n - 1), 50 for one value.
-- winsorized_minmax: clamp to the values at positions floor(lower x (n - 1)) and
-- ceil(upper x (n - 1)) of the sorted values, then min-max; 50 when the caps are equal.
-- lower_is_better: 100 - value.
create or replace table normalized_metrics as
with
segments_in_use as (
    select distinct period_grain, period_start, peer_segment from partner_periods
),
segment_members as (
    -- each partner-period in every segment some partner of the period is compared in
    select * from (
        select
            partner_id,
            period_grain,
            period_start,
            unnest([partner_type || ' / ' || region, partner_type, 'all']) as peer_segment,
        from partner_periods
    )
    semi join segments_in_use using (period_grain, period_start, peer_segment)
),
value_counts as (
    -- each distinct value once per segment, with its ties: ranking counts is cheaper than
    -- ranking every partner
    select
        segment_members.period_grain,
        segment_members.period_start,
        segment_members.peer_segment,
        partner_metrics.metric_key,
        partner_metrics.raw_value,
        count(*) as ties,
    from segment_members
    join partner_metrics using (partner_id, period_grain, period_start)
    where partner_metrics.raw_value is not null
    group by all
),
value_positions as (
    select
        *,
        sum(ties) over segment_values - ties as values_below,
        sum(ties) over (partition by period_grain, period_start, peer_segment, metric_key)
            as value_count,
    from value_counts
    window segment_values as (
        partition by period_grain, period_start, peer_segment, metric_key order by raw_value
    )
),
with_settings as (
    select
        value_positions.*,
        metric_catalog.normalization,
        metric_catalog.direction,
        floor(coalesce(metric_catalog.winsor_lower_pct, 0) * (value_count - 1))
            as lower_position,
        ceil(coalesce(metric_catalog.winsor_upper_pct, 1) * (value_count - 1))
            as upper_position,
    from value_positions
    join metric_catalog using (metric_key)
),
winsor_caps as (
    -- the values that occupy the cap positions
    select
        period_grain,
        period_start,
        peer_segment,
        metric_key,
        max(raw_value) filter (
            where lower_position >= values_below and lower_position < values_below + ties
        ) as lower_cap,
        max(raw_value) filter (
            where upper_position >= values_below and upper_position < values_below + ties
        ) as upper_cap,
    from with_settings
    where normalization = 'winsorized_minmax'
    group by all
),
normalized_values as (
    select
        with_settings.period_grain,
        with_settings.period_start,
        with_settings.peer_segment,
        with_settings.metric_key,
        with_settings.raw_value,
        case
            when with_settings.normalization = 'percentile_rank' then
                case when value_count = 1 then 50.0
                    else 100.0 * (values_below + (ties - 1) / 2.0) / (value_count - 1) end
            when winsor_caps.upper_cap = winsor_caps.lower_cap then 50.0
            else 100.0 * (
                least(
                    greatest(with_settings.raw_value, winsor_caps.lower_cap),
                    winsor_caps.upper_cap
                ) - winsor_caps.lower_cap
            ) / (winsor_caps.upper_cap - winsor_caps.lower_cap)
        end as ascending_value,
        with_settings.direction,
    from with_settings
    left join winsor_caps using (period_grain, period_start, peer_segment, metric_key)
)
select
    partner_metrics.partner_id,
    partner_metrics.period_grain,
    partner_metrics.period_start,
    partner_metrics.metric_key,
    partner_metrics.raw_value,
    case
        when normalized_values.direction = 'lower_is_better'
            then 100.0 - normalized_values.ascending_value
        else normalized_values.ascending_value
    end as normalized_value,
from partner_metrics
join partner_periods using (partner_id, period_grain, period_start)
left join normalized_values
    on normalized_values.period_grain = partner_metrics.period_grain
    and normalized_values.period_start = partner_metrics.period_start
    and normalized_values.peer_segment = partner_periods.peer_segment
    and normalized_values.metric_key = partner_metrics.metric_key
    and normalized_values.raw_value = partner_metrics.raw_value;

-- step: scores
-- The metrics weighted for the period's version and the partner's type: a missing value scores
-- 50 (neutral), 0 (zero) or is dropped (exclude); the weights of the rest are scaled to sum to
-- 100, and the score is the weighted mean rounded to 2 decimals. Partners whose weighted metrics
-- are all dropped are not scored.
create or replace table scores as
with
components as (
    select
        partner_periods.partner_id,
        partner_periods.period_grain,
        partner_periods.period_start,
        scoring_weights.weight,
        case
            when normalized_metrics.normalized_value is not null
                then normalized_metrics.normalized_value
            when metric_catalog.missing_rule = 'neutral' then 50.0
            when metric_catalog.missing_rule = 'zero' then 0.0
        end as scored_value,
    from partner_periods
    join scoring_weights
        on scoring_weights.version = partner_periods.scorecard_version
        and scoring_weights.partner_type = partner_periods.partner_type
        and scoring_weights.weight > 0
    join metric_catalog using (metric_key)
    join normalized_metrics
        on normalized_metrics.partner_id = partner_periods.partner_id
        and normalized_metrics.period_grain = partner_periods.period_grain
        and normalized_metrics.period_start = partner_periods.period_start
        and normalized_metrics.metric_key = scoring_weights.metric_key
)
select
    partner_id,
    period_grain,
    period_start,
    round(
        sum(scored_value * weight) / sum(weight) filter (where scored_value is not null), 2
    )::decimal(5, 2) as score,
from components
group by all
having sum(weight) filter (where scored_value is not null) > 0;

-- step: bands
-- The band the score falls in (min inclusive, max exclusive, 100 in the top band) for the
-- partner's first scored period of a grain; afterwards the previous band is kept while
-- previous band min - h <= score <= previous band max + h (edges of the current version,
-- h = its hysteresis_points), else the band the score falls in.
create or replace table partner_scores as
with recursive
raw_bands as (
    select
        scores.*,
        partner_periods.period_end,
        partner_periods.is_period_complete,
        partner_periods.scorecard_version,
        partner_periods.peer_segment,
        partner_periods.hysteresis_points,
        scoring_bands.band as raw_band,
        row_number() over (
            partition by scores.partner_id, scores.period_grain order by scores.period_start
        ) as partner_period_number,
    from scores
    join partner_periods using (partner_id, period_grain, period_start)
    join scoring_bands
        on scoring_bands.version = partner_periods.scorecard_version
        and scores.score >= scoring_bands.min_score
        and (scores.score < scoring_bands.max_score or scoring_bands.max_score = 100)
),
banded as (
    select raw_bands.*, raw_band as score_band,
    from raw_bands
    where partner_period_number = 1
    union all
    select
        current_period.*,
        case
            when current_period.score
                between previous_edges.min_score - current_period.hysteresis_points
                and previous_edges.max_score + current_period.hysteresis_points
                then previous_period.score_band
            else current_period.raw_band
        end,
    from banded as previous_period
    join raw_bands as current_period
        on current_period.partner_id = previous_period.partner_id
        and current_period.period_grain = previous_period.period_grain
        and current_period.partner_period_number = previous_period.partner_period_number + 1
    left join scoring_bands as previous_edges
        on previous_edges.version = current_period.scorecard_version
        and previous_edges.band = previous_period.score_band
)
select
    partner_id,
    period_grain,
    period_start,
    period_end,
    is_period_complete,
    scorecard_version,
    peer_segment,
    score,
    raw_band,
    score_band,
from banded;
