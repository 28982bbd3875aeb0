{#- One row per partner per period per weighted metric; contribution_points sum exactly to
    fct_partner_scores.score.
    Incremental by period: the components' period fingerprint and this model's SQL; a run
    rewrites the periods whose fingerprint changed, appeared or vanished. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key=['period_grain', 'period_start'],
    scope_marker='metric_key',
    on_schema_change='fail',
) }}

with

components as (
    select * from {{ ref('int_partner_score_components') }}
),

period_fingerprints as (
    select
        period_grain,
        period_start,
        {#- a 64-bit hash for BI (sums of hashes outgrow bigint) -#}
        {{ row_fingerprint(['period_fingerprint + ' ~ settings_fingerprint({})]) }}
            as period_fingerprint
    from ({{ period_fingerprints_of(ref('int_partner_score_components')) }}) as component_periods
),

scope as (
    {{ changed_period_scope('period_fingerprints') }}
),

final as (
    {#- the rows of the periods in scope; a period in scope without rows keeps one row with a
        null metric_key, which only tells the incremental strategy to delete it -#}
    select
        components.partner_id,
        scope.period_grain,
        scope.period_start,
        components.scorecard_version,
        components.metric_key,
        cast(components.raw_value as {{ type_double() }}) as raw_value,
        cast(round(components.normalized_value, 4) as {{ type_double() }}) as normalized_value,
        cast(round(components.scored_value, 4) as {{ type_double() }}) as scored_value,
        components.is_missing,
        components.is_excluded,
        components.missing_rule,
        cast(components.configured_weight as {{ type_double() }}) as configured_weight,
        cast(round(components.effective_weight, 4) as {{ type_double() }}) as weight,
        cast(components.contribution_points as decimal(9, 2)) as contribution_points,
        cast(round(components.points_missed, 4) as {{ type_double() }}) as points_missed,
        components.is_restated,
        scope.period_fingerprint
    from scope
    left join components
        on components.period_grain = scope.period_grain
        and components.period_start = scope.period_start
    {# tombstones only mean something to an incremental run #}
    where {{ 'true' if is_incremental() else 'components.metric_key is not null' }}
)

select * from final
