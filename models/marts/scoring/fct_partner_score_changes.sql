{#- One row per partner per period (that has a previous period of the same grain) per metric
    weighted in either period: the contribution delta. Deltas sum exactly to score_change.
    Incremental by period, like int_partner_scores (whose fingerprint covers the components): a
    period pairs with the one before it, so a run redoes every period of a grain from the
    earliest whose inputs changed. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key=['period_grain', 'period_start'],
    scope_marker='metric_key',
    on_schema_change='fail',
) }}

with

period_fingerprints as (
    {#- only the periods that have changes to show: a grain's first period has none, and were it
        here, it would look new on every run and put the whole grain in scope -#}
    select distinct
        period_grain,
        period_start,
        {#- a 64-bit hash for BI (sums of hashes outgrow bigint) -#}
        {{ row_fingerprint(['period_fingerprint + ' ~ settings_fingerprint({})]) }}
            as period_fingerprint
    from {{ ref('int_partner_scores') }}
    where previous_period_start is not null
),

scope as (
    {{ changed_period_scope('period_fingerprints', through_later_periods=true) }}
),

scores as (
    select int_partner_scores.*
    from {{ ref('int_partner_scores') }} as int_partner_scores
    inner join scope
        on scope.period_grain = int_partner_scores.period_grain
        and scope.period_start = int_partner_scores.period_start
),

{%- if is_incremental() %}

    compared_periods as (
        {#- the periods whose components the run compares: those in scope, the ones before -#}
        select
            period_grain,
            period_start
        from scope
        union
        select
            period_grain,
            previous_period_start as period_start
        from scores
        where previous_period_start is not null
    ),
{%- endif %}

components as (
    {#- read by the period alone: joined to the partner-period pairs only, every stored
        component was probed twice with three keys (a delta at M: 0.7 s -> 0.45 s) -#}
    select int_partner_score_components.*
    from {{ ref('int_partner_score_components') }} as int_partner_score_components
    {%- if is_incremental() %}
    inner join compared_periods
        on compared_periods.period_grain = int_partner_score_components.period_grain
        and compared_periods.period_start = int_partner_score_components.period_start
    {%- endif %}
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

changes as (
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
),

final as (
    {#- the rows of the periods in scope; a period in scope without rows keeps one row with a
        null metric_key, which only tells the incremental strategy to delete it -#}
    select
        changes.partner_id,
        scope.period_grain,
        scope.period_start,
        changes.previous_period_start,
        changes.metric_key,
        changes.previous_contribution_points,
        changes.contribution_points,
        changes.contribution_change,
        changes.previous_normalized_value,
        changes.normalized_value,
        changes.weight_change,
        scope.period_fingerprint
    from scope
    left join changes
        on changes.period_grain = scope.period_grain
        and changes.period_start = scope.period_start
    {# tombstones only mean something to an incremental run #}
    where {{ 'true' if is_incremental() else 'changes.metric_key is not null' }}
)

select * from final
