{#- One row per partner per period per weighted metric (weights of the period's scorecard version
    and the partner's type). Missing values follow the metric's missing_rule: neutral -> 50,
    zero -> 0, exclude -> the metric gets weight 0 and the others are renormalized to sum to 100.
    contribution = normalized value x effective weight / 100; the score is the exact sum rounded to
    2 decimals, and contributions are rounded to 2 decimals with the rounding residual put on the
    largest contribution, so contributions always sum exactly to the score.
    Incremental by period: period_fingerprint adds to the normalized metrics' period fingerprint
    the partners' types and scorecard versions, the weights and this model's SQL; a run redoes
    the periods whose fingerprint changed, appeared or vanished. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key=['period_grain', 'period_start'],
    scope_marker='metric_key',
    on_schema_change='fail',
) }}

with

partner_periods as (
    select * from {{ ref('int_partner_periods') }}
),

weights as (
    select * from {{ ref('scoring_weights') }}
),

version_weight_fingerprints as (
    select
        version,
        sum({{ row_fingerprint(['version', 'partner_type', 'metric_key', 'weight']) }})
            as fingerprint
    from weights
    group by version
),

weighting_fingerprints as (
    {#- what picks a partner's weights: its type, the period's scorecard version and that
        version's weights (a new version's weights leave the periods of the others alone) -#}
    select
        partner_periods.period_grain,
        partner_periods.period_start,
        sum(
            {{ row_fingerprint(['partner_periods.partner_id', 'partner_periods.partner_type',
                'partner_periods.scorecard_version']) }}
            + coalesce(version_weight_fingerprints.fingerprint, 0)
        ) as fingerprint
    from partner_periods
    left join version_weight_fingerprints
        on version_weight_fingerprints.version = partner_periods.scorecard_version
    group by partner_periods.period_grain, partner_periods.period_start
),

normalized_periods as (
    {{ period_fingerprints_of(ref('int_partner_metrics_normalized')) }}
),

period_fingerprints as (
    select
        normalized_periods.period_grain,
        normalized_periods.period_start,
        normalized_periods.period_fingerprint
        + coalesce(weighting_fingerprints.fingerprint, 0)
        + {{ settings_fingerprint({}) }} as period_fingerprint
    from normalized_periods
    left join weighting_fingerprints
        on weighting_fingerprints.period_grain = normalized_periods.period_grain
        and weighting_fingerprints.period_start = normalized_periods.period_start
),

scope as (
    {{ changed_period_scope('period_fingerprints') }}
),

normalized as (
    {#- an incremental run reads the normalized rows of its periods by the period alone: reached
        only through the scoped partner periods, every stored row was probed with four keys
        (a delta at M: 1.15-1.2 s -> 0.59 s for this query) -#}
    select int_partner_metrics_normalized.*
    from {{ ref('int_partner_metrics_normalized') }} as int_partner_metrics_normalized
    {%- if is_incremental() %}
    inner join scope
        on scope.period_grain = int_partner_metrics_normalized.period_grain
        and scope.period_start = int_partner_metrics_normalized.period_start
    {%- endif %}
),

weighted as (
    select
        partner_periods.partner_id,
        partner_periods.period_grain,
        partner_periods.period_start,
        partner_periods.scorecard_version,
        weights.metric_key,
        weights.weight as configured_weight,
        normalized.raw_value,
        normalized.normalized_value,
        normalized.is_missing,
        normalized.missing_rule,
        normalized.is_restated,
        case
            when normalized.normalized_value is not null then normalized.normalized_value
            when normalized.missing_rule = 'neutral' then 50.0
            when normalized.missing_rule = 'zero' then 0.0
        end as scored_value
    from partner_periods
    inner join scope
        on scope.period_grain = partner_periods.period_grain
        and scope.period_start = partner_periods.period_start
    inner join weights
        on weights.version = partner_periods.scorecard_version
        and weights.partner_type = partner_periods.partner_type
    inner join normalized
        on normalized.partner_id = partner_periods.partner_id
        and normalized.period_grain = partner_periods.period_grain
        and normalized.period_start = partner_periods.period_start
        and normalized.metric_key = weights.metric_key
    where weights.weight > 0
),

scored_weights as (
    {#- The weight the scored metrics share, per partner period: a grouped sum joined back costs
        far less than a window partitioned by the three string keys over every component. -#}
    select
        partner_id,
        period_grain,
        period_start,
        sum(case when scored_value is not null then configured_weight end) as scored_weight
    from weighted
    group by partner_id, period_grain, period_start
),

effective as (
    select
        weighted.*,
        weighted.scored_value is null as is_excluded,
        case
            when weighted.scored_value is null then 0.0
            else 100.0 * weighted.configured_weight / scored_weights.scored_weight
        end as effective_weight
    from weighted
    inner join scored_weights
        on scored_weights.partner_id = weighted.partner_id
        and scored_weights.period_grain = weighted.period_grain
        and scored_weights.period_start = weighted.period_start
),

contributions as (
    select
        *,
        coalesce(scored_value, 0.0) * effective_weight / 100.0 as contribution_exact,
        cast(
            round(coalesce(scored_value, 0.0) * effective_weight / 100.0, 2) as decimal(9, 2)
        ) as contribution_rounded
    from effective
),

rounded as (
    {#- One window pass: the score, the sum of the rounded contributions and the largest
        contribution, which takes the rounding residual. -#}
    select
        *,
        cast(round(sum(contribution_exact) over partner_period, 2) as decimal(9, 2)) as score,
        sum(contribution_rounded) over partner_period as rounded_total,
        row_number() over (
            partner_period order by contribution_exact desc, metric_key asc
        ) as contribution_rank
    from contributions
    window partner_period as (partition by partner_id, period_grain, period_start)
),

scored_components as (
    select
        partner_id,
        period_grain,
        period_start,
        scorecard_version,
        metric_key,
        raw_value,
        normalized_value,
        scored_value,
        is_missing,
        is_excluded,
        missing_rule,
        is_restated,
        configured_weight,
        effective_weight,
        contribution_exact,
        cast(
            contribution_rounded
            + case
                when contribution_rank = 1
                    then score - rounded_total
                else 0
            end
            as decimal(9, 2)
        ) as contribution_points,
        effective_weight - coalesce(scored_value, 0.0) * effective_weight / 100.0 as points_missed,
        score
    from rounded
),

final as (
    {#- the rows of the periods in scope; a period in scope without rows keeps one row with a
        null metric_key, which only tells the incremental strategy to delete it -#}
    select
        scored_components.partner_id,
        scope.period_grain,
        scope.period_start,
        scored_components.scorecard_version,
        scored_components.metric_key,
        scored_components.raw_value,
        scored_components.normalized_value,
        scored_components.scored_value,
        scored_components.is_missing,
        scored_components.is_excluded,
        scored_components.missing_rule,
        scored_components.is_restated,
        scored_components.configured_weight,
        scored_components.effective_weight,
        scored_components.contribution_exact,
        scored_components.contribution_points,
        scored_components.points_missed,
        scored_components.score,
        scope.period_fingerprint
    from scope
    left join scored_components
        on scored_components.period_grain = scope.period_grain
        and scored_components.period_start = scope.period_start
    {# tombstones only mean something to an incremental run #}
    where {{ 'true' if is_incremental() else 'scored_components.metric_key is not null' }}
)

select * from final
