{#- One row per partner per scoring period the partner is scored in, with the partner's
    attributes as of the period: the CRM extract in force the day after the period ends (the latest
    extract on or before that day; the partner's first extract for periods before it). A partner is
    scored when it had joined by the period end and was not terminated then, and is compared in
    the peer segment of its type and region of the time, after the small-group fallback. -#}

with

partner_history as (
    select * from {{ ref('stg_crm__partners_history') }}
),

periods as (
    select * from {{ ref('int_scoring_periods') }}
),

periods_as_of as (
    {#- The extract taken the day after a period closes describes the period's end. -#}
    select
        *,
        cast({{ dbt.dateadd('day', 1, 'period_end') }} as date) as attributes_as_of_date
    from periods
),

partner_periods as (
    select
        partner_history.partner_id,
        partner_history.partner_type,
        partner_history.region,
        partner_history.tier as current_tier,
        partner_history.customer_segment,
        partner_history.employee_count,
        partner_history.extract_date as attributes_extract_date,
        partner_history.is_corrected as is_partner_corrected,
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        periods.is_period_complete,
        periods.period_index,
        periods.scorecard_version,
        periods.is_rescored,
        periods.rescoring_id,
        periods.peer_segment_definition,
        periods.fallback_segment,
        periods.min_peer_group_size,
        periods.early_warning_drop_points,
        periods.hysteresis_points
    from partner_history
    inner join periods_as_of as periods
        on (
            partner_history.valid_from_date is null
            or partner_history.valid_from_date <= periods.attributes_as_of_date
        )
        and (
            partner_history.valid_to_date is null
            or partner_history.valid_to_date > periods.attributes_as_of_date
        )
    where partner_history.joined_date <= periods.period_end
        and partner_history.status <> 'terminated'
),

segment_sizes as (
    select
        *,
        count(*) over (
            partition by period_grain, period_start, partner_type, region
        ) as partner_type_region_size,
        count(*) over (partition by period_grain, period_start, partner_type) as partner_type_size,
        count(*) over (partition by period_grain, period_start) as all_size
    from partner_periods
),

levels as (
    select
        *,
        case
            when peer_segment_definition = 'partner_type_region'
                and partner_type_region_size >= min_peer_group_size
                then 'partner_type_region'
            when peer_segment_definition in ('partner_type_region', 'partner_type')
                and (
                    (fallback_segment = 'partner_type' or peer_segment_definition = 'partner_type')
                    and partner_type_size >= min_peer_group_size
                )
                then 'partner_type'
            else 'all'
        end as peer_level
    from segment_sizes
),

final as (
    select
        partner_id,
        partner_type,
        region,
        current_tier,
        customer_segment,
        employee_count,
        attributes_extract_date,
        is_partner_corrected,
        period_grain,
        period_start,
        period_end,
        is_period_complete,
        period_index,
        scorecard_version,
        is_rescored,
        rescoring_id,
        early_warning_drop_points,
        hysteresis_points,
        peer_level,
        case peer_level
            when 'partner_type_region' then partner_type || ' / ' || region
            when 'partner_type' then partner_type
            else 'all'
        end as peer_segment,
        case peer_level
            when 'partner_type_region' then partner_type_region_size
            when 'partner_type' then partner_type_size
            else all_size
        end as peer_group_size
    from levels
)

select * from final
