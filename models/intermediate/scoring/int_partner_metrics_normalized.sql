{#- One row per partner per period per catalog metric with the metric normalized to 0-100 within
    the partner's peer segment (int_partner_periods.peer_level after the small-group fallback):
    percentile_rank = mid-rank percentile (ties share a value; one partner or all-equal gives 50);
    winsorized_minmax = value clamped to the order statistics at the catalog's lower/upper
    quantiles, then scaled min-max (equal caps give 50). lower_is_better metrics are flipped
    (100 - value). Missing raw values stay null here; the missing rule applies in the components.

    Why it is built this way (issue #5, 15x faster at scale M): a partner's segment holds every
    partner sharing the keys of the partner's level, whatever their own level. Each segment some
    partner is compared in gets an integer id; values are counted once per distinct value in a
    segment (a hash aggregate), and only those counts are ranked, partitioned by the integer id:
    several window sorts of every partner row by string keys cost far more.
    It keeps only what the components read (raw value, missing flag and rule, restatement): the
    window and counts are in int_partner_metrics, the peer segment in int_partner_periods, the
    normalization settings in the catalog. Each text column written costs about 0.4 s per 5.4 M
    rows at scale M; the eight it repeated took this model from 5.8 s to 8.7 s.
    Incremental by period, like int_partner_metrics: period_fingerprint adds to the metrics'
    period fingerprint what normalizing reads besides (the partners' segments, the catalog's
    normalization settings, this model's SQL); periods whose fingerprint changed, appeared or
    vanished are normalized again, whole. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key=['period_grain', 'period_start'],
    scope_marker='metric_key',
    on_schema_change='fail',
) }}

{%- set levels = {
    'partner_type_region': ['partner_type', 'region'],
    'partner_type': ['partner_type'],
    'all': [],
} -%}

with

partner_periods as (
    select * from {{ ref('int_partner_periods') }}
),

metrics as (
    select * from {{ ref('int_partner_metrics') }}
),

catalog as (
    select * from {{ ref('scoring_metric_catalog') }}
),

metric_period_fingerprints as (
    select distinct
        period_grain,
        period_start,
        period_fingerprint
    from metrics
),

segment_fingerprints as (
    select
        period_grain,
        period_start,
        sum({{ row_fingerprint([
            'partner_id', 'partner_type', 'region', 'peer_level', 'peer_segment',
        ]) }}) as fingerprint
    from partner_periods
    group by period_grain, period_start
),

settings_fingerprint as (
    {#- the normalization settings and this model's own SQL apply to every period -#}
    select
        {{ settings_fingerprint({ref('scoring_metric_catalog'): [
            'metric_key', 'normalization', 'winsor_lower_pct', 'winsor_upper_pct', 'direction',
            'missing_rule',
        ]}) }} as fingerprint
),

period_fingerprints as (
    select
        metric_period_fingerprints.period_grain,
        metric_period_fingerprints.period_start,
        {#- one 64-bit hash, as in int_partner_metrics: every row repeats it -#}
        {{ row_fingerprint([
            'metric_period_fingerprints.period_fingerprint'
            ~ ' + coalesce(segment_fingerprints.fingerprint, 0)'
            ~ ' + settings_fingerprint.fingerprint',
        ]) }} as period_fingerprint
    from metric_period_fingerprints
    left join segment_fingerprints
        on segment_fingerprints.period_grain = metric_period_fingerprints.period_grain
        and segment_fingerprints.period_start = metric_period_fingerprints.period_start
    cross join settings_fingerprint
),

scope as (
    {#- the periods to (re)normalize: all in a full build; in an incremental run those whose
        inputs changed, appeared or disappeared -#}
    {{ changed_period_scope('period_fingerprints') }}
),

scoped_partner_periods as (
    select partner_periods.*
    from partner_periods
    inner join scope
        on scope.period_grain = partner_periods.period_grain
        and scope.period_start = partner_periods.period_start
),

scoped_metrics as (
    select metrics.*
    from metrics
    inner join scope
        on scope.period_grain = metrics.period_grain
        and scope.period_start = metrics.period_start
),

partner_levels as (
    {#- Each partner period under each level, with the keys of its segment at that level (a key
        the level does not use is null, so the levels share one set of columns). -#}
    {%- for level, keys in levels.items() %}
        select
            partner_id,
            period_grain,
            period_start,
            '{{ level }}' as peer_level,
            peer_level = '{{ level }}' as is_compared_level,
            {{ 'partner_type' if 'partner_type' in keys
                else 'cast(null as ' ~ dbt.type_string() ~ ')' }} as segment_partner_type,
            {{ 'region' if 'region' in keys
                else 'cast(null as ' ~ dbt.type_string() ~ ')' }} as segment_region
        from scoped_partner_periods
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

compared_segments as (
    {#- Only the segments some partner is compared in are ranked: with the default settings
        every partner keeps its type-region segment and the wider levels are never needed. -#}
    select
        period_grain,
        period_start,
        peer_level,
        segment_partner_type,
        segment_region,
        row_number() over (
            order by period_grain, period_start, peer_level, segment_partner_type, segment_region
        ) as segment_id
    from partner_levels
    where is_compared_level
    group by period_grain, period_start, peer_level, segment_partner_type, segment_region
),

segment_memberships as (
    select
        partner_levels.partner_id,
        partner_levels.period_grain,
        partner_levels.period_start,
        partner_levels.is_compared_level,
        compared_segments.segment_id
    from partner_levels
    inner join compared_segments
        on compared_segments.period_grain = partner_levels.period_grain
        and compared_segments.period_start = partner_levels.period_start
        and compared_segments.peer_level = partner_levels.peer_level
        and compared_segments.segment_partner_type
        is not distinct from partner_levels.segment_partner_type
        and compared_segments.segment_region is not distinct from partner_levels.segment_region
),

value_ties as (
    select
        segment_memberships.segment_id,
        scoped_metrics.metric_key,
        scoped_metrics.raw_value,
        count(*) as value_ties
    from scoped_metrics
    inner join segment_memberships
        on segment_memberships.partner_id = scoped_metrics.partner_id
        and segment_memberships.period_grain = scoped_metrics.period_grain
        and segment_memberships.period_start = scoped_metrics.period_start
    where scoped_metrics.raw_value is not null
    group by segment_memberships.segment_id, scoped_metrics.metric_key, scoped_metrics.raw_value
),

value_ranks as (
    {#- A value's rows take the 0-based positions values_below .. values_below + ties - 1 in the
        ascending order of its segment. -#}
    select
        *,
        cast(sum(value_ties) over (
            partition by segment_id, metric_key order by raw_value
        ) as bigint) - value_ties as values_below,
        cast(sum(value_ties) over (partition by segment_id, metric_key) as bigint) as value_count
    from value_ties
),

ranked_values as (
    select
        value_ranks.*,
        catalog.normalization,
        catalog.winsor_lower_pct,
        catalog.winsor_upper_pct
    from value_ranks
    inner join catalog
        on catalog.metric_key = value_ranks.metric_key
),

segment_caps as (
    {#- The winsor caps are the values at positions floor(lower_pct x (n - 1)) and
        ceiling(upper_pct x (n - 1)) of the segment. -#}
    select
        segment_id,
        metric_key,
        min(
            case
                when values_below + value_ties - 1
                    >= floor(coalesce(winsor_lower_pct, 0) * (value_count - 1))
                    then raw_value
            end
        ) as lower_cap,
        max(
            case
                when values_below <= ceiling(coalesce(winsor_upper_pct, 1) * (value_count - 1))
                    then raw_value
            end
        ) as upper_cap
    from ranked_values
    where normalization <> 'percentile_rank'
    group by segment_id, metric_key
),

capped_values as (
    select
        ranked_values.*,
        segment_caps.lower_cap,
        segment_caps.upper_cap
    from ranked_values
    left join segment_caps
        on segment_caps.segment_id = ranked_values.segment_id
        and segment_caps.metric_key = ranked_values.metric_key
),

normalized_values as (
    select
        segment_id,
        metric_key,
        raw_value,
        case
            when normalization = 'percentile_rank'
                then {{ percentile_rank_score('values_below', 'value_ties', 'value_count') }}
            when upper_cap = lower_cap then 50.0
            else 100.0 * (least(greatest(raw_value, lower_cap), upper_cap) - lower_cap)
                / (upper_cap - lower_cap)
        end as normalized_ascending
    from capped_values
),

partner_comparisons as (
    select
        scoped_partner_periods.partner_id,
        scoped_partner_periods.period_grain,
        scoped_partner_periods.period_start,
        segment_memberships.segment_id
    from scoped_partner_periods
    left join segment_memberships
        on segment_memberships.partner_id = scoped_partner_periods.partner_id
        and segment_memberships.period_grain = scoped_partner_periods.period_grain
        and segment_memberships.period_start = scoped_partner_periods.period_start
        and segment_memberships.is_compared_level
),

normalized as (
    select
        scoped_metrics.partner_id,
        scoped_metrics.period_grain,
        scoped_metrics.period_start,
        scoped_metrics.metric_key,
        scoped_metrics.raw_value,
        scoped_metrics.is_restated,
        scoped_metrics.raw_value is null as is_missing,
        catalog.missing_rule,
        case
            when catalog.direction = 'lower_is_better'
                then 100.0 - normalized_values.normalized_ascending
            else normalized_values.normalized_ascending
        end as normalized_value
    from scoped_metrics
    inner join partner_comparisons
        on partner_comparisons.partner_id = scoped_metrics.partner_id
        and partner_comparisons.period_grain = scoped_metrics.period_grain
        and partner_comparisons.period_start = scoped_metrics.period_start
    inner join catalog
        on catalog.metric_key = scoped_metrics.metric_key
    left join normalized_values
        on normalized_values.segment_id = partner_comparisons.segment_id
        and normalized_values.metric_key = scoped_metrics.metric_key
        and normalized_values.raw_value = scoped_metrics.raw_value
),

final as (
    {#- the rows of the periods in scope; a period in scope without rows keeps one row with a
        null metric_key, which only tells the incremental strategy to delete it -#}
    select
        normalized.partner_id,
        scope.period_grain,
        scope.period_start,
        normalized.metric_key,
        normalized.raw_value,
        normalized.is_restated,
        normalized.is_missing,
        normalized.missing_rule,
        normalized.normalized_value,
        scope.period_fingerprint
    from scope
    left join normalized
        on normalized.period_grain = scope.period_grain
        and normalized.period_start = scope.period_start
    {# tombstones only mean something to an incremental run #}
    where {{ 'true' if is_incremental() else 'normalized.metric_key is not null' }}
)

select * from final
