{#- One row per partner per period per catalog metric with the metric normalized to 0-100 within
    the partner's peer segment (int_partner_periods.peer_level after the small-group fallback):
    percentile_rank = mid-rank percentile (ties share a value; one partner or all-equal gives 50);
    winsorized_minmax = value clamped to the order statistics at the catalog's lower/upper
    quantiles, then scaled min-max (equal caps give 50). lower_is_better metrics are flipped
    (100 - value). Missing raw values stay null here; the missing rule applies in the components. -#}

{%- set levels = {
    'partner_type_region': 'partner_type, region',
    'partner_type': 'partner_type',
    'all': 'peer_all',
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

metric_values as (
    select
        metrics.partner_id,
        metrics.period_grain,
        metrics.period_start,
        metrics.metric_key,
        metrics.raw_value,
        partner_periods.partner_type,
        partner_periods.region,
        'all' as peer_all,
        catalog.normalization,
        catalog.winsor_lower_pct,
        catalog.winsor_upper_pct
    from metrics
    inner join partner_periods
        on partner_periods.partner_id = metrics.partner_id
        and partner_periods.period_grain = metrics.period_grain
        and partner_periods.period_start = metrics.period_start
    inner join catalog
        on catalog.metric_key = metrics.metric_key
    where metrics.raw_value is not null
),

{% for level, keys in levels.items() %}
    {%- set partition = 'period_grain, period_start, metric_key, ' ~ keys %}
    ranked_{{ level }} as (
        select
            *,
            {{ percentile_rank_score('raw_value', partition) }} as percentile_value,
            row_number() over (partition by {{ partition }} order by raw_value) - 1 as value_index,
            count(*) over (partition by {{ partition }}) as value_count
        from metric_values
    ),

    capped_{{ level }} as (
        select
            *,
            min(
                case
                    when value_index >= floor(coalesce(winsor_lower_pct, 0) * (value_count - 1))
                        then raw_value
                end
            ) over (partition by {{ partition }}) as lower_cap,
            max(
                case
                    when value_index <= ceiling(coalesce(winsor_upper_pct, 1) * (value_count - 1))
                        then raw_value
                end
            ) over (partition by {{ partition }}) as upper_cap
        from ranked_{{ level }}
    ),

    normalized_{{ level }} as (
        select
            partner_id,
            period_grain,
            period_start,
            metric_key,
            '{{ level }}' as peer_level,
            case
                when normalization = 'percentile_rank' then percentile_value
                when upper_cap = lower_cap then 50.0
                else 100.0 * (least(greatest(raw_value, lower_cap), upper_cap) - lower_cap)
                    / (upper_cap - lower_cap)
            end as normalized_ascending
        from capped_{{ level }}
    ),
{% endfor %}

normalized_all_levels as (
    {%- for level in levels %}
        select * from normalized_{{ level }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

final as (
    select
        metrics.partner_id,
        metrics.period_grain,
        metrics.period_start,
        metrics.metric_key,
        metrics.raw_value,
        metrics.numerator,
        metrics.denominator,
        metrics.window_start,
        metrics.window_end,
        metrics.is_restated,
        metrics.raw_value is null as is_missing,
        partner_periods.peer_level,
        partner_periods.peer_segment,
        catalog.normalization,
        catalog.direction,
        catalog.missing_rule,
        case
            when catalog.direction = 'lower_is_better'
                then 100.0 - normalized_all_levels.normalized_ascending
            else normalized_all_levels.normalized_ascending
        end as normalized_value
    from metrics
    inner join partner_periods
        on partner_periods.partner_id = metrics.partner_id
        and partner_periods.period_grain = metrics.period_grain
        and partner_periods.period_start = metrics.period_start
    inner join catalog
        on catalog.metric_key = metrics.metric_key
    left join normalized_all_levels
        on normalized_all_levels.partner_id = metrics.partner_id
        and normalized_all_levels.period_grain = metrics.period_grain
        and normalized_all_levels.period_start = metrics.period_start
        and normalized_all_levels.metric_key = metrics.metric_key
        and normalized_all_levels.peer_level = partner_periods.peer_level
)

select * from final
