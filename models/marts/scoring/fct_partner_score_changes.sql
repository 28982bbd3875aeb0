{#- One row per partner per period (that has a previous period of the same grain) per metric
    weighted in either period: the contribution delta. Deltas sum exactly to score_change. -#}

with

scores as (
    select * from {{ ref('int_partner_scores') }}
),

components as (
    select * from {{ ref('int_partner_score_components') }}
),

period_pairs as (
    select
        partner_id,
        period_grain,
        period_start,
        previous_period_start
    from scores
    where previous_period_start is not null
),

current_components as (
    select
        period_pairs.partner_id,
        period_pairs.period_grain,
        period_pairs.period_start,
        period_pairs.previous_period_start,
        components.metric_key,
        components.contribution_points,
        components.normalized_value,
        components.effective_weight
    from period_pairs
    inner join components
        on components.partner_id = period_pairs.partner_id
        and components.period_grain = period_pairs.period_grain
        and components.period_start = period_pairs.period_start
),

previous_components as (
    select
        period_pairs.partner_id,
        period_pairs.period_grain,
        period_pairs.period_start,
        period_pairs.previous_period_start,
        components.metric_key,
        components.contribution_points,
        components.normalized_value,
        components.effective_weight
    from period_pairs
    inner join components
        on components.partner_id = period_pairs.partner_id
        and components.period_grain = period_pairs.period_grain
        and components.period_start = period_pairs.previous_period_start
),

final as (
    select
        coalesce(current_components.partner_id, previous_components.partner_id) as partner_id,
        coalesce(current_components.period_grain, previous_components.period_grain)
            as period_grain,
        coalesce(current_components.period_start, previous_components.period_start)
            as period_start,
        coalesce(
            current_components.previous_period_start, previous_components.previous_period_start
        ) as previous_period_start,
        coalesce(current_components.metric_key, previous_components.metric_key) as metric_key,
        cast(coalesce(previous_components.contribution_points, 0) as decimal(9, 2))
            as previous_contribution_points,
        cast(coalesce(current_components.contribution_points, 0) as decimal(9, 2))
            as contribution_points,
        cast(
            coalesce(current_components.contribution_points, 0)
            - coalesce(previous_components.contribution_points, 0)
            as decimal(9, 2)
        ) as contribution_change,
        cast(round(previous_components.normalized_value, 4) as {{ type_double() }})
            as previous_normalized_value,
        cast(round(current_components.normalized_value, 4) as {{ type_double() }})
            as normalized_value,
        cast(round(
            coalesce(current_components.effective_weight, 0)
            - coalesce(previous_components.effective_weight, 0), 4
        ) as {{ type_double() }}) as weight_change
    from current_components
    full outer join previous_components
        on previous_components.partner_id = current_components.partner_id
        and previous_components.period_grain = current_components.period_grain
        and previous_components.period_start = current_components.period_start
        and previous_components.metric_key = current_components.metric_key
)

select * from final
