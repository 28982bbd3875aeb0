{#- One row per partner per metric per calendar month: the numerator and denominator each metric
    sums over its trailing window. Volume metrics put their value in the numerator and the number
    of underlying records in the denominator; ratio metrics put the successes (or the summed
    measure, for averages) in the numerator and the eligible records in the denominator.
    active_certifications is a point-in-time count and is computed in int_partner_metrics.
    Incremental by partner-month: inputs_fingerprint sums a hash of every input row of the
    partner-month (portal events, the CRM and LMS record facts, the activity points settings); a
    run recomputes only the partner-months whose fingerprint changed, so a new day, a late event
    for an old month, a re-delivered extract, a block or its release, or a correction redo the
    months they touch and nothing else. A partner-month left without facts is deleted.
    The event part of the fingerprint comes summed per load batch from
    int_partner_event_fingerprints_monthly, which redoes only changed batches: the events
    themselves are read for the partner-months in scope only. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key=['partner_id', 'activity_month'],
    scope_marker='metric_key',
    on_schema_change='fail',
) }}

with

opportunities as (
    select * from {{ ref('stg_crm__opportunities') }}
),

deal_registrations as (
    select * from {{ ref('stg_crm__deal_registrations') }}
),

leads as (
    select * from {{ ref('stg_crm__leads') }}
),

renewals as (
    select * from {{ ref('stg_crm__renewals') }}
),

csat_responses as (
    select * from {{ ref('stg_crm__csat_responses') }}
),

activity_events as (
    select * from {{ ref('stg_portal__activity_events') }}
),

learning_records as (
    select * from {{ ref('stg_lms__learning_records') }}
),

activity_points_config as (
    select * from {{ ref('activity_points') }}
),

crm_facts as (
    select
        partner_id,
        'closed_won_revenue' as metric_key,
        closed_date as activity_date,
        amount_usd as numerator,
        1 as denominator,
        is_corrected
    from opportunities
    where is_won and closed_date is not null and amount_usd is not null

    union all
    select
        partner_id,
        'pipeline_created' as metric_key,
        created_date as activity_date,
        amount_usd as numerator,
        1 as denominator,
        is_corrected
    from opportunities
    where amount_usd is not null

    union all
    select
        partner_id,
        'win_rate' as metric_key,
        closed_date as activity_date,
        case when is_won then 1 else 0 end as numerator,
        1 as denominator,
        is_corrected
    from opportunities
    where is_closed and closed_date is not null

    union all
    select
        partner_id,
        'deal_velocity_days' as metric_key,
        closed_date as activity_date,
        {{ dbt.datediff('created_date', 'closed_date', 'day') }} as numerator,  -- noqa: LT05
        1 as denominator,
        is_corrected
    from opportunities
    where is_won and closed_date is not null and closed_date >= created_date

    union all
    select
        partner_id,
        'deal_registrations' as metric_key,
        submitted_date as activity_date,
        1 as numerator,
        1 as denominator,
        is_corrected
    from deal_registrations

    union all
    select
        partner_id,
        'deal_registration_approval_rate' as metric_key,
        decided_date as activity_date,
        case when status = 'approved' then 1 else 0 end as numerator,
        1 as denominator,
        is_corrected
    from deal_registrations
    where status in ('approved', 'rejected') and decided_date is not null

    union all
    select
        partner_id,
        'lead_conversion_rate' as metric_key,
        created_date as activity_date,
        case when is_converted then 1 else 0 end as numerator,
        1 as denominator,
        is_corrected
    from leads

    union all
    select
        partner_id,
        'renewal_rate' as metric_key,
        contract_end_date as activity_date,
        case when renewal_status = 'renewed' then 1 else 0 end as numerator,
        1 as denominator,
        is_corrected
    from renewals
    where renewal_status in ('renewed', 'churned')

    union all
    select
        partner_id,
        'customer_satisfaction' as metric_key,
        responded_date as activity_date,
        satisfaction_score as numerator,
        1 as denominator,
        is_corrected
    from csat_responses
    where satisfaction_score is not null

),

first_completions as (
    select
        partner_id,
        'training_completions' as metric_key,
        min(occurred_date) as activity_date,
        1 as numerator,
        1 as denominator,
        max(case when is_corrected then 1 else 0 end) = 1 as is_corrected
    from learning_records
    where verb in ('completed', 'passed')
    group by partner_id, learner_id, course_id
),

lms_activities as (
    select
        partner_id,
        case
            when verb = 'passed' and course_kind in ('certification', 'specialization')
                then 'certification_passed'
            else 'course_completed'
        end as activity_type,
        occurred_date as activity_date,
        is_corrected
    from learning_records
    where verb in ('completed', 'passed')
),

record_rows as (
    {#- every CRM and LMS input row once, with its month and its hash: the record facts, and the
        LMS activities that earn activity points (is_fact false) -#}
    select
        partner_id,
        metric_key,
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date) as activity_month,
        is_fact,
        numerator,
        denominator,
        is_corrected,
        {{ row_fingerprint(
            ['metric_key', 'activity_date', 'numerator', 'denominator', 'is_corrected']
        ) }} as fingerprint
    from (
        select
            *,
            true as is_fact
        from crm_facts
        union all
        select
            *,
            true as is_fact
        from first_completions
        union all
        select
            partner_id,
            activity_type as metric_key,
            activity_date,
            1 as numerator,
            1 as denominator,
            is_corrected,
            false as is_fact
        from lms_activities
    ) as record_inputs
    where activity_date is not null and partner_id is not null
),

record_months as (
    {#- the records summed once per partner, month and metric (or LMS activity type): both the
        fingerprint and the facts of the months in scope are read from here, so the records are
        neither aggregated twice nor joined row by row with the scope -#}
    select
        partner_id,
        activity_month,
        metric_key,
        is_fact,
        sum(cast(numerator as {{ type_double() }})) as numerator,
        sum(cast(denominator as {{ type_double() }})) as denominator,
        max(case when is_corrected then 1 else 0 end) = 1 as has_corrections,
        sum(fingerprint) as fingerprint
    from record_rows
    group by partner_id, activity_month, metric_key, is_fact
),

event_fingerprints as (
    {#- the events' part of the fingerprint is kept per load batch, incrementally, by its own
        model -#}
    select
        partner_id,
        activity_month,
        sum(events_fingerprint) as fingerprint
    from {{ ref('int_partner_event_fingerprints_monthly') }}
    where partner_id is not null
    group by partner_id, activity_month
),

record_fingerprints as (
    select
        partner_id,
        activity_month,
        sum(fingerprint) as fingerprint
    from record_months
    group by partner_id, activity_month
),

settings_fingerprint as (
    {#- the points settings and this model's own SQL apply to every partner-month: a change
        to either redoes them all -#}
    select
        {{ settings_fingerprint({
            ref('activity_points'): ['activity_type', 'points', 'monthly_cap_points'],
        }) }} as fingerprint
),

partner_month_fingerprints as (
    {#- fingerprints: one per partner-month over every input row that can produce a fact there -#}
    select
        inputs.partner_id,
        inputs.activity_month,
        sum(inputs.fingerprint) + max(settings_fingerprint.fingerprint) as inputs_fingerprint
    from (
        select * from event_fingerprints
        union all
        select * from record_fingerprints
    ) as inputs
    cross join settings_fingerprint
    group by inputs.partner_id, inputs.activity_month
),

{%- if is_incremental() %}

    stored_fingerprints as (
        select distinct
            partner_id,
            activity_month,
            inputs_fingerprint
        from {{ this }}
    ),
{%- endif %}

scope as (
    {#- the partner-months to (re)compute: all in a full build; in an incremental run those
        whose inputs changed, appeared or disappeared -#}
    {%- if is_incremental() %}
        select
            coalesce(current_months.partner_id, stored_fingerprints.partner_id) as partner_id,
            coalesce(current_months.activity_month, stored_fingerprints.activity_month)
                as activity_month
        from partner_month_fingerprints as current_months
        full outer join stored_fingerprints
            on current_months.partner_id = stored_fingerprints.partner_id
            and current_months.activity_month = stored_fingerprints.activity_month
        where current_months.inputs_fingerprint
            is distinct from stored_fingerprints.inputs_fingerprint
    {%- else %}
        select
            partner_id,
            activity_month
        from partner_month_fingerprints
    {%- endif %}
),

scoped_events as (
    {#- only the events of partner-months in scope are read; the date range of the scope lets
        DuckDB skip the row groups of other months before the join -#}
    select activity_events.*
    from activity_events
    {%- if is_incremental() %}
    inner join scope
        on activity_events.partner_id = scope.partner_id
        and cast({{ dbt.date_trunc('month', 'activity_events.occurred_date') }} as date)
        = scope.activity_month
    where activity_events.occurred_date >= (
        select min(scope_range.activity_month) from scope as scope_range
    )
        and activity_events.occurred_date < (
            select {{ dbt.dateadd('month', 1, 'max(scope_range.activity_month)') }}
            from scope as scope_range
        )
    {%- endif %}
),

scoped_record_months as (
    select record_months.*
    from record_months
    {%- if is_incremental() %}
    inner join scope
        on record_months.partner_id = scope.partner_id
        and record_months.activity_month = scope.activity_month
    {%- endif %}
),

event_facts as (
    select
        partner_id,
        'event_attendance' as metric_key,
        occurred_date as activity_date,
        1 as numerator,
        1 as denominator,
        is_corrected
    from scoped_events
    where event_type = 'event_attendance'
    union all
    select
        partner_id,
        'portal_engagement' as metric_key,
        occurred_date as activity_date,
        1 as numerator,
        1 as denominator,
        max(case when is_corrected then 1 else 0 end) = 1 as is_corrected
    from scoped_events
    group by partner_id, user_id, occurred_date
),

activity_counts as (
    {#- activities per partner, month and type: portal events, and the LMS activities counted
        in record_months -#}
    select
        partner_id,
        activity_month,
        activity_type,
        sum(activity_count) as activity_count,
        max(case when is_corrected then 1 else 0 end) = 1 as is_corrected
    from (
        select
            partner_id,
            cast({{ dbt.date_trunc('month', 'occurred_date') }} as date) as activity_month,
            event_type as activity_type,
            1 as activity_count,
            is_corrected
        from scoped_events
        union all
        select
            partner_id,
            activity_month,
            metric_key as activity_type,
            denominator as activity_count,
            has_corrections as is_corrected
        from scoped_record_months
        where not is_fact
    ) as activities
    group by partner_id, activity_month, activity_type
),

activity_points_by_type as (
    select
        activity_counts.partner_id,
        activity_counts.activity_month,
        activity_counts.activity_type,
        least(
            activity_counts.activity_count * activity_points_config.points,
            activity_points_config.monthly_cap_points
        ) as capped_points,
        activity_counts.activity_count,
        activity_counts.is_corrected
    from activity_counts
    inner join activity_points_config
        on activity_points_config.activity_type = activity_counts.activity_type
),

monthly_facts as (
    select
        partner_id,
        metric_key,
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date) as activity_month,
        sum(cast(numerator as {{ type_double() }})) as numerator,
        sum(cast(denominator as {{ type_double() }})) as denominator,
        max(case when is_corrected then 1 else 0 end) = 1 as has_corrections
    from event_facts
    where activity_date is not null and partner_id is not null
    group by partner_id, metric_key, {{ dbt.date_trunc('month', 'activity_date') }}
),

monthly_points as (
    select
        partner_id,
        'activity_points' as metric_key,
        activity_month,
        sum(cast(capped_points as {{ type_double() }})) as numerator,
        sum(cast(activity_count as {{ type_double() }})) as denominator,
        max(case when is_corrected then 1 else 0 end) = 1 as has_corrections
    from activity_points_by_type
    group by partner_id, activity_month
),

facts as (
    select * from monthly_facts
    union all
    select
        partner_id,
        metric_key,
        activity_month,
        numerator,
        denominator,
        has_corrections
    from scoped_record_months
    where is_fact
    union all
    select * from monthly_points
),

final as (
    {#- facts of the partner-months in scope; a partner-month in scope without facts keeps one
        row with a null metric_key, which only tells the incremental strategy to delete it -#}
    select
        scope.partner_id,
        facts.metric_key,
        scope.activity_month,
        facts.numerator,
        facts.denominator,
        facts.has_corrections,
        partner_month_fingerprints.inputs_fingerprint
    from scope
    left join facts
        on scope.partner_id = facts.partner_id
        and scope.activity_month = facts.activity_month
    left join partner_month_fingerprints
        on scope.partner_id = partner_month_fingerprints.partner_id
        and scope.activity_month = partner_month_fingerprints.activity_month
    {# tombstones only mean something to an incremental run #}
    where {{ 'true' if is_incremental() else 'facts.metric_key is not null' }}
)

select * from final
