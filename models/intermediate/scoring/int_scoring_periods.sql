{#- One row per scoring period (month and quarter) between the first and last month with
    activity (opportunity created, portal event or learning record; close dates do not extend
    the range), with the scorecard version and settings that apply to it. A period is complete
    once the data reaches its last day; the latest period of a daily refresh is usually still
    in progress, and its scores are provisional. -#}

with

opportunities as (
    select * from {{ ref('stg_crm__opportunities') }}
),

activity_events as (
    select * from {{ ref('stg_portal__activity_events') }}
),

learning_records as (
    select * from {{ ref('stg_lms__learning_records') }}
),

versions as (
    select * from {{ ref('scorecard_versions') }}
),

rescorings as (
    select * from {{ ref('scorecard_rescorings') }}
),

activity_dates as (
    select created_date as activity_date from opportunities
    union all
    select occurred_date as activity_date from activity_events
    union all
    select occurred_date as activity_date from learning_records
),

bounds as (
    select
        {{ dbt.date_trunc('month', 'min(activity_date)') }} as first_month,
        {{ dbt.date_trunc('month', 'max(activity_date)') }} as last_month,
        max(activity_date) as data_through_date
    from activity_dates
),

digits as (
    select 0 as digit
    union all
    select 1
    union all
    select 2
    union all
    select 3
    union all
    select 4
    union all
    select 5
    union all
    select 6
    union all
    select 7
    union all
    select 8
    union all
    select 9
),

month_offsets as (
    select ones.digit + 10 * tens.digit + 100 * hundreds.digit as month_offset
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
),

months as (
    select
        cast({{ dbt.dateadd('month', 'month_offsets.month_offset', 'bounds.first_month') }} as date)
            as period_start
    from month_offsets
    cross join bounds
    where month_offsets.month_offset
        <= {{ dbt.datediff('bounds.first_month', 'bounds.last_month', 'month') }}
),

periods as (
    select distinct
        'month' as period_grain,
        period_start,
        cast({{ dbt.last_day('period_start', 'month') }} as date) as period_end
    from months
    union all
    select distinct
        'quarter' as period_grain,
        cast({{ dbt.date_trunc('quarter', 'period_start') }} as date) as period_start,
        cast({{ dbt.last_day(dbt.date_trunc('quarter', 'period_start'), 'quarter') }} as date)
            as period_end
    from months
),

effective_versions as (
    select
        periods.period_grain,
        periods.period_start,
        versions.version
    from periods
    inner join versions
        on versions.effective_from <= periods.period_start
        and (versions.effective_to is null or periods.period_start < versions.effective_to)
),

latest_rescorings as (
    select
        periods.period_grain,
        periods.period_start,
        rescorings.rescoring_id,
        rescorings.version,
        row_number() over (
            partition by periods.period_grain, periods.period_start
            order by rescorings.decided_at desc, rescorings.rescoring_id desc
        ) as decision_rank
    from periods
    inner join rescorings
        on periods.period_start between rescorings.from_period and rescorings.to_period
),

final as (
    select
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        coalesce(latest_rescorings.version, effective_versions.version) as scorecard_version,
        latest_rescorings.rescoring_id is not null as is_rescored,
        latest_rescorings.rescoring_id,
        versions.peer_segment as peer_segment_definition,
        versions.min_peer_group_size,
        versions.fallback_segment,
        versions.early_warning_drop_points,
        versions.hysteresis_points,
        periods.period_end <= bounds.data_through_date as is_period_complete,
        row_number() over (
            partition by periods.period_grain order by periods.period_start
        ) as period_index
    from periods
    left join effective_versions
        on effective_versions.period_grain = periods.period_grain
        and effective_versions.period_start = periods.period_start
    left join latest_rescorings
        on latest_rescorings.period_grain = periods.period_grain
        and latest_rescorings.period_start = periods.period_start
        and latest_rescorings.decision_rank = 1
    inner join versions
        on versions.version = coalesce(latest_rescorings.version, effective_versions.version)
    cross join bounds
)

select * from final
