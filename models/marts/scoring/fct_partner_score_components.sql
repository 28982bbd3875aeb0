{#- One row per partner per period per weighted metric; contribution_points sum exactly to
    fct_partner_scores.score. -#}

with

components as (
    select * from {{ ref('int_partner_score_components') }}
),

final as (
    select
        partner_id,
        period_grain,
        period_start,
        scorecard_version,
        metric_key,
        cast(raw_value as {{ type_double() }}) as raw_value,
        cast(round(normalized_value, 4) as {{ type_double() }}) as normalized_value,
        cast(round(scored_value, 4) as {{ type_double() }}) as scored_value,
        is_missing,
        is_excluded,
        missing_rule,
        cast(configured_weight as {{ type_double() }}) as configured_weight,
        cast(round(effective_weight, 4) as {{ type_double() }}) as weight,
        cast(contribution_points as decimal(9, 2)) as contribution_points,
        cast(round(points_missed, 4) as {{ type_double() }}) as points_missed,
        is_restated
    from components
)

select * from final
