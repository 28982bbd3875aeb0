{#- One row per partner per scoring period the partner is scored in (joined by the period end,
    not terminated), with the peer segment it is normalized in after the small-group fallback. -#}

with

partners as (
    select * from {{ ref('stg_crm__partners') }}
),

periods as (
    select * from {{ ref('int_scoring_periods') }}
),

partner_periods as (
    select
        partners.partner_id,
        partners.partner_type,
        partners.region,
        partners.tier as current_tier,
        partners.is_corrected as is_partner_corrected,
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        periods.period_index,
        periods.scorecard_version,
        periods.is_rescored,
        periods.peer_segment_definition,
        periods.fallback_segment,
        periods.min_peer_group_size,
        periods.early_warning_drop_points,
        periods.hysteresis_points
    from partners
    inner join periods
        on partners.joined_date <= periods.period_end
    where partners.status <> 'terminated'
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
        is_partner_corrected,
        period_grain,
        period_start,
        period_end,
        period_index,
        scorecard_version,
        is_rescored,
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
