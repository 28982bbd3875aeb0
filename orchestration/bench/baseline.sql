-- The benchmark baseline: the essential work of partnerscore as hand-written DuckDB SQL.
--
-- No orchestration, no lineage columns, no quarantine, no quality checks, no views:
-- load the landing extracts into tables, keep the latest extract per CRM key, aggregate
-- to partner-month metrics, rank each metric within partner_type x region per month,
-- weight with fixed weights and band. `orchestration/bench/baseline.py` runs each
-- `-- step:` block in order and times it; `{landing}` is the landing directory.
-- Column types are spelled out, as someone writing this by hand against the contract would:
-- it spares DuckDB sniffing every file.

-- step: load_partners
create or replace table partners as
select *, regexp_extract(filename, '/(\d{4}-\d{2}-\d{2})/', 1)::date as extract_date
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
);

-- step: load_opportunities
create or replace table opportunities as
select *, regexp_extract(filename, '/(\d{4}-\d{2}-\d{2})/', 1)::date as extract_date
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
);

-- step: load_deal_registrations
create or replace table deal_registrations as
select *, regexp_extract(filename, '/(\d{4}-\d{2}-\d{2})/', 1)::date as extract_date
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
);

-- step: load_activity_events
create or replace table activity_events as
select *
from read_json(
    '{landing}/portal/activity_events/*/*.jsonl*',
    format = 'newline_delimited',
    columns = {
        event_id: 'varchar',
        partner_id: 'varchar',
        user_id: 'varchar',
        event_type: 'varchar',
        occurred_at: 'timestamp',
        properties: 'json'
    }
);

-- step: load_learning_records
create or replace table learning_records as
select
    id as record_id,
    actor.account.name as learner_id,
    context.extensions['https://partnerscore.dev/xapi/partner-id'] as partner_id,
    regexp_extract(object.id, '[^/]+$') as course_id,
    object.definition.extensions['https://partnerscore.dev/xapi/course-kind'] as course_kind,
    regexp_extract(verb.id, '[^/]+$') as verb,
    result.score.scaled * 100 as score,
    "timestamp" as occurred_at,
    context.extensions['https://partnerscore.dev/xapi/certification-expires']::date
        as certification_expires_date
from read_json(
    '{landing}/lms/learning_records/*/*.jsonl*',
    format = 'newline_delimited',
    columns = {
        id: 'varchar',
        actor: 'struct(account struct(homePage varchar, name varchar))',
        verb: 'struct(id varchar)',
        object: 'struct(id varchar, definition struct(extensions map(varchar, varchar)))',
        result: 'struct(score struct(scaled double))',
        context: 'struct(extensions map(varchar, varchar))',
        "timestamp": 'timestamp'
    }
);

-- step: partner_months
create or replace table partner_months as
with
latest_partners as (
    select * from partners
    qualify row_number() over (partition by partner_id order by extract_date desc) = 1
),
bounds as (
    select
        date_trunc('month', min(occurred_at))::date as first_month,
        date_trunc('month', max(occurred_at))::date as last_month,
    from activity_events
),
months as (
    select unnest(generate_series(first_month, last_month, interval 1 month))::date as month
    from bounds
)
select
    p.partner_id,
    p.partner_type,
    p.region,
    m.month,
from latest_partners as p
cross join months as m;

-- step: partner_month_metrics
create or replace table partner_month_metrics as
with
latest_opportunities as (
    select * from opportunities
    qualify row_number() over (partition by opportunity_id order by extract_date desc) = 1
),
latest_deal_registrations as (
    select * from deal_registrations
    qualify row_number() over (partition by deal_registration_id order by extract_date desc) = 1
),
revenue as (
    select
        partner_id,
        date_trunc('month', closed_date)::date as month,
        sum(amount) filter (where is_won) as closed_won_revenue,
        count(*) filter (where is_won) as won_count,
        count(*) as closed_count,
    from latest_opportunities
    where closed_date is not null
    group by all
),
pipeline as (
    select partner_id, date_trunc('month', created_date)::date as month, sum(amount) as pipeline_created,
    from latest_opportunities
    group by all
),
registrations as (
    select partner_id, date_trunc('month', submitted_date)::date as month, count(*) as deal_registrations,
    from latest_deal_registrations
    group by all
),
activity as (
    pivot (
        select partner_id, date_trunc('month', occurred_at)::date as month, event_type
        from activity_events
    )
    on event_type in (
        'login', 'content_view', 'content_download', 'price_list_view', 'profile_update',
        'colleague_invite', 'discussion_post', 'business_plan_submission', 'mdf_claim',
        'event_registration', 'event_attendance'
    )
    using count(*)
    group by partner_id, month
),
certifications as (
    select
        partner_id,
        date_trunc('month', occurred_at)::date as month,
        count(*) filter (where verb = 'passed' and course_kind = 'certification') as certifications,
    from learning_records
    group by all
)
select
    pm.*,
    coalesce(r.closed_won_revenue, 0) as closed_won_revenue,
    coalesce(pl.pipeline_created, 0) as pipeline_created,
    r.won_count / nullif(r.closed_count, 0) as win_rate,
    coalesce(dr.deal_registrations, 0) as deal_registrations,
    coalesce(a.login, 0) as login_events,
    coalesce(a.content_view, 0) as content_view_events,
    coalesce(a.content_download, 0) as content_download_events,
    coalesce(a.price_list_view, 0) as price_list_view_events,
    coalesce(a.profile_update, 0) as profile_update_events,
    coalesce(a.colleague_invite, 0) as colleague_invite_events,
    coalesce(a.discussion_post, 0) as discussion_post_events,
    coalesce(a.business_plan_submission, 0) as business_plan_submission_events,
    coalesce(a.mdf_claim, 0) as mdf_claim_events,
    coalesce(a.event_registration, 0) as event_registration_events,
    coalesce(a.event_attendance, 0) as event_attendance_events,
    coalesce(c.certifications, 0) as certifications,
from partner_months as pm
left join revenue as r using (partner_id, month)
left join pipeline as pl using (partner_id, month)
left join registrations as dr using (partner_id, month)
left join activity as a using (partner_id, month)
left join certifications as c using (partner_id, month);

-- step: partner_month_scores
create or replace table partner_month_scores as
with
engagement as (
    select
        *,
        login_events + content_view_events + content_download_events + price_list_view_events
            + profile_update_events + colleague_invite_events + discussion_post_events
            + business_plan_submission_events + mdf_claim_events + event_registration_events
            + event_attendance_events as portal_events,
    from partner_month_metrics
),
ranked as (
    -- percentile rank within the peer group (partner_type x region) of the same month;
    -- a partner with no closed deals gets the neutral 0.5 for win rate
    select
        *,
        percent_rank() over (peers order by closed_won_revenue) as revenue_pct,
        percent_rank() over (peers order by pipeline_created) as pipeline_pct,
        coalesce(
            case when win_rate is not null
                then percent_rank() over (
                    partition by month, partner_type, region, win_rate is null order by win_rate
                )
            end,
            0.5
        ) as win_rate_pct,
        percent_rank() over (peers order by deal_registrations) as deal_registrations_pct,
        percent_rank() over (peers order by portal_events) as engagement_pct,
        percent_rank() over (peers order by event_attendance_events) as event_attendance_pct,
        percent_rank() over (peers order by certifications) as certifications_pct,
    from engagement
    window peers as (partition by month, partner_type, region)
),
scored as (
    select
        *,
        round(
            100 * (
                25 * revenue_pct + 15 * pipeline_pct + 15 * win_rate_pct
                + 10 * deal_registrations_pct + 15 * engagement_pct + 5 * event_attendance_pct
                + 15 * certifications_pct
            ) / 100,
            2
        ) as partner_score,
    from ranked
)
select
    *,
    case
        when partner_score >= 80 then 'excellent'
        when partner_score >= 60 then 'good'
        when partner_score >= 40 then 'needs_improvement'
        else 'at_risk'
    end as score_band,
from scored;
