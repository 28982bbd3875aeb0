{#- One row per partner per period per weighted metric; contribution_points sum exactly to
    fct_partner_scores.score.
    A view: the rows are int_partner_score_components' (incremental by period) with the mart's
    names, types and rounding. Storing them a second time cost a full build 4.3 s at scale M
    and 30 s at L, and a daily run a second rewrite of its periods; BI reads the published copy,
    where publish writes this view's rows as a table. -#}
{{ config(materialized='view') }}

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
        is_restated,
        {#- a 64-bit hash for BI (sums of hashes outgrow bigint) -#}
        {{ row_fingerprint(['period_fingerprint + ' ~ settings_fingerprint({})]) }}
            as period_fingerprint
    from components
)

select * from final
