{#- One row per partner per period (month and quarter): score, band, rank, change, trend,
    early warning, benchmarks, next steps and tier recommendation.
    Incremental by period, like int_partner_score_bands (whose fingerprint covers the scores and
    components): a run redoes every period of a grain from the earliest whose inputs changed. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key=['period_grain', 'period_start'],
    scope_marker='partner_id',
    on_schema_change='fail',
) }}

with

period_fingerprints as (
    select
        period_grain,
        period_start,
        {#- a 64-bit hash for BI (sums of hashes outgrow bigint) -#}
        {{ row_fingerprint(['period_fingerprint + ' ~ settings_fingerprint({
            ref('scoring_benchmarks'): ['tier', 'metric_key', 'min_value'],
            ref('scoring_metric_catalog'): ['metric_key', 'improvement_action'],
            ref('tier_requirements'): ['version', 'tier', 'tier_rank', 'min_score'],
        })]) }} as period_fingerprint
    from ({{ period_fingerprints_of(ref('int_partner_score_bands')) }}) as band_periods
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

bands as (
    select int_partner_score_bands.*
    from {{ ref('int_partner_score_bands') }} as int_partner_score_bands
    inner join scope
        on scope.period_grain = int_partner_score_bands.period_grain
        and scope.period_start = int_partner_score_bands.period_start
),

components as (
    select int_partner_score_components.*
    from {{ ref('int_partner_score_components') }} as int_partner_score_components
    inner join scope
        on scope.period_grain = int_partner_score_components.period_grain
        and scope.period_start = int_partner_score_components.period_start
),

benchmarks as (
    select * from {{ ref('scoring_benchmarks') }}
),

catalog as (
    select * from {{ ref('scoring_metric_catalog') }}
),

tier_requirements as (
    select * from {{ ref('tier_requirements') }}
),

below_benchmark as (
    select
        components.partner_id,
        components.period_grain,
        components.period_start,
        count(*) as below_benchmark_count,
        {{ dbt.listagg('components.metric_key', "', '", 'order by components.metric_key') }}
            as below_benchmark_metrics
    from components
    inner join scores
        on scores.partner_id = components.partner_id
        and scores.period_grain = components.period_grain
        and scores.period_start = components.period_start
    inner join benchmarks
        on benchmarks.tier = scores.current_tier
        and benchmarks.metric_key = components.metric_key
    where components.raw_value < benchmarks.min_value
    group by components.partner_id, components.period_grain, components.period_start
),

weakest_components as (
    {#- Ranked without the long improvement texts (every component's metric is in the catalog
        by construction): the sort then moves a few narrow columns. -#}
    select
        partner_id,
        period_grain,
        period_start,
        metric_key,
        row_number() over (
            partition by partner_id, period_grain, period_start
            order by points_missed desc, metric_key asc
        ) as weakness_rank
    from components
    where not is_excluded
        and points_missed >= 1
),

next_steps as (
    {#- The two weakest metrics' actions, the weakest first; a pivot of at most two rows per
        partner period costs far less than an ordered string aggregate. -#}
    select
        weakest_components.partner_id,
        weakest_components.period_grain,
        weakest_components.period_start,
        max(
            case when weakest_components.weakness_rank = 1 then catalog.improvement_action end
        ) as weakest_action,
        max(
            case when weakest_components.weakness_rank = 2 then catalog.improvement_action end
        ) as second_weakest_action
    from weakest_components
    inner join catalog
        on catalog.metric_key = weakest_components.metric_key
    where weakest_components.weakness_rank <= 2
    group by
        weakest_components.partner_id,
        weakest_components.period_grain,
        weakest_components.period_start
),

recommended_tiers as (
    select
        scores.partner_id,
        scores.period_grain,
        scores.period_start,
        tier_requirements.tier as recommended_tier,
        row_number() over (
            partition by scores.partner_id, scores.period_grain, scores.period_start
            order by tier_requirements.tier_rank desc
        ) as tier_choice
    from scores
    inner join tier_requirements
        on tier_requirements.version = scores.scorecard_version
        and scores.score >= tier_requirements.min_score
),

final as (
    {#- the rows of the periods in scope; a period in scope without scores keeps one row with a
        null partner_id, which only tells the incremental strategy to delete it. Bands are left
        joined so that a score without a band fails the band's not_null test, not vanishes. -#}
    select
        scores.partner_id,
        scope.period_grain,
        scope.period_start,
        scores.period_end,
        scores.is_period_complete,
        scores.scorecard_version,
        scores.is_rescored,
        scores.rescoring_id,
        scores.partner_type,
        scores.region,
        scores.attributes_extract_date,
        scores.peer_segment,
        cast(scores.peer_group_size as integer) as peer_group_size,
        cast(scores.score as decimal(5, 2)) as score,
        bands.band,
        bands.raw_band,
        bands.previous_band,
        cast(scores.rank_in_segment as integer) as rank_in_segment,
        cast(scores.percentile_in_segment as decimal(5, 2)) as percentile_in_segment,
        cast(scores.score_change as decimal(6, 2)) as score_change,
        cast(scores.trend_3_period as decimal(6, 2)) as trend_3_period,
        case
            when scores.trend_3_period is null then null
            when scores.trend_3_period >= 1 then 'improving'
            when scores.trend_3_period <= -1 then 'declining'
            else 'stable'
        end as trend_direction,
        scores.is_version_change,
        {#- Only drops measured with one method warn: the first period of a new scorecard
            (or of a rescoring) would otherwise flag every partner the new weights rank lower. -#}
        coalesce(
            not scores.is_version_change
            and (
                scores.score_change < -scores.early_warning_drop_points
                or (bands.band = 'at_risk' and bands.previous_band <> 'at_risk')
            ),
            false
        ) as is_early_warning,
        cast(coalesce(below_benchmark.below_benchmark_count, 0) as integer)
            as below_benchmark_count,
        below_benchmark.below_benchmark_metrics,
        coalesce(below_benchmark.below_benchmark_count, 0) > 0 as is_below_benchmark,
        coalesce(
            case
                when next_steps.second_weakest_action is not null
                    then next_steps.weakest_action || '; ' || next_steps.second_weakest_action
            end,
            next_steps.weakest_action,
            next_steps.second_weakest_action,
            'Keep it up: no weighted metric is more than a point short'
        ) as next_steps,
        scores.current_tier,
        recommended_tiers.recommended_tier,
        case
            when current_rank.tier_rank < recommended_rank.tier_rank then 'upgrade'
            when current_rank.tier_rank > recommended_rank.tier_rank then 'downgrade'
            else 'keep'
        end as tier_recommendation,
        scores.is_restated,
        scope.period_fingerprint
    from scope
    left join scores
        on scores.period_grain = scope.period_grain
        and scores.period_start = scope.period_start
    left join bands
        on bands.partner_id = scores.partner_id
        and bands.period_grain = scores.period_grain
        and bands.period_start = scores.period_start
    left join below_benchmark
        on below_benchmark.partner_id = scores.partner_id
        and below_benchmark.period_grain = scores.period_grain
        and below_benchmark.period_start = scores.period_start
    left join next_steps
        on next_steps.partner_id = scores.partner_id
        and next_steps.period_grain = scores.period_grain
        and next_steps.period_start = scores.period_start
    left join recommended_tiers
        on recommended_tiers.partner_id = scores.partner_id
        and recommended_tiers.period_grain = scores.period_grain
        and recommended_tiers.period_start = scores.period_start
        and recommended_tiers.tier_choice = 1
    left join tier_requirements as current_rank
        on current_rank.version = scores.scorecard_version
        and current_rank.tier = scores.current_tier
    left join tier_requirements as recommended_rank
        on recommended_rank.version = scores.scorecard_version
        and recommended_rank.tier = recommended_tiers.recommended_tier
    {# tombstones only mean something to an incremental run #}
    where {{ 'true' if is_incremental() else 'scores.partner_id is not null' }}
)

select * from final
