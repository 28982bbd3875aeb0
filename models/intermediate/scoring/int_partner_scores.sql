{#- One row per partner per period with a score (partners whose weighted metrics are all excluded
    are not scored): the score, its rank and percentile in the peer segment, the change since the
    partner's previous period of the same grain and the 3-period trend (least-squares slope over
    the last 3 scores = (score - score two periods back) / 2, points per period).
    Incremental by period: period_fingerprint adds to the components' period fingerprint the
    partner attributes this model reads and its SQL. A period's change and trend read the
    periods before it, so a run redoes every period of a grain from the earliest whose
    fingerprint changed; the stored earlier periods give the windows their history. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key=['period_grain', 'period_start'],
    scope_marker='partner_id',
    on_schema_change='fail',
) }}

{%- set attributes = [
    'period_end', 'is_period_complete', 'partner_type', 'region', 'current_tier', 'scorecard_version', 'is_rescored',
    'rescoring_id', 'attributes_extract_date', 'peer_level', 'peer_segment', 'peer_group_size',
    'early_warning_drop_points', 'hysteresis_points', 'is_partner_corrected',
] -%}

with

partner_periods as (
    select * from {{ ref('int_partner_periods') }}
),

components as (
    select * from {{ ref('int_partner_score_components') }}
),

attribute_fingerprints as (
    select
        period_grain,
        period_start,
        sum({{ row_fingerprint(['partner_id'] + attributes) }}) as fingerprint
    from partner_periods
    group by period_grain, period_start
),

component_periods as (
    {{ period_fingerprints_of(ref('int_partner_score_components')) }}
),

period_fingerprints as (
    select
        component_periods.period_grain,
        component_periods.period_start,
        component_periods.period_fingerprint
        + coalesce(attribute_fingerprints.fingerprint, 0)
        + {{ settings_fingerprint({}) }} as period_fingerprint
    from component_periods
    left join attribute_fingerprints
        on attribute_fingerprints.period_grain = component_periods.period_grain
        and attribute_fingerprints.period_start = component_periods.period_start
),

scope as (
    {{ changed_period_scope('period_fingerprints', through_later_periods=true) }}
),

scored as (
    select
        components.partner_id,
        components.period_grain,
        components.period_start,
        max(components.score) as score,
        sum(components.effective_weight) as total_effective_weight,
        max(case when components.is_restated then 1 else 0 end) = 1 as has_restated_inputs
    from components
    inner join scope
        on scope.period_grain = components.period_grain
        and scope.period_start = components.period_start
    group by components.partner_id, components.period_grain, components.period_start
    having sum(components.effective_weight) > 0
),

joined as (
    select
        partner_periods.partner_id,
        partner_periods.period_grain,
        partner_periods.period_start,
        {%- for attribute in attributes if attribute != 'is_partner_corrected' %}
            partner_periods.{{ attribute }},
        {%- endfor %}
        scored.score,
        scored.has_restated_inputs or partner_periods.is_partner_corrected as is_restated
    from partner_periods
    inner join scored
        on scored.partner_id = partner_periods.partner_id
        and scored.period_grain = partner_periods.period_grain
        and scored.period_start = partner_periods.period_start
),

score_history as (
    {#- the scores the period windows read: those in scope and, in an incremental run, the
        stored ones of the earlier periods -#}
    select
        partner_id,
        period_grain,
        period_start,
        scorecard_version,
        score
    from joined
    {%- if is_incremental() %}

    union all

    select
        stored.partner_id,
        stored.period_grain,
        stored.period_start,
        stored.scorecard_version,
        stored.score
    from {{ this }} as stored
    where not exists (
        select 1
        from scope
        where scope.period_grain = stored.period_grain
            and scope.period_start = stored.period_start
    )
    {%- endif %}
),

period_windows as (
    select
        partner_id,
        period_grain,
        period_start,
        row_number() over partner_periods as partner_period_index,
        lag(period_start) over partner_periods as previous_period_start,
        score - lag(score) over partner_periods as score_change,
        {#- A change of scorecard between two periods is a change of method, not of performance. -#}
        coalesce(
            lag(scorecard_version) over partner_periods <> scorecard_version, false
        ) as is_version_change,
        cast((score - lag(score, 2) over partner_periods) / 2.0 as decimal(9, 2))
            as trend_3_period
    from score_history
    window partner_periods as (partition by partner_id, period_grain order by period_start)
),

ranked as (
    select
        joined.*,
        rank() over peer_segment as rank_in_segment,
        cast(round(100.0 * (1 - percent_rank() over peer_segment), 2) as decimal(5, 2))
            as percentile_in_segment,
        period_windows.partner_period_index,
        period_windows.previous_period_start,
        period_windows.score_change,
        period_windows.is_version_change,
        period_windows.trend_3_period
    from joined
    inner join period_windows
        on period_windows.partner_id = joined.partner_id
        and period_windows.period_grain = joined.period_grain
        and period_windows.period_start = joined.period_start
    window peer_segment as (
        partition by joined.period_grain, joined.period_start, joined.peer_segment
        order by joined.score desc
    )
),

final as (
    {#- the rows of the periods in scope; a period in scope without scores keeps one row with a
        null partner_id, which only tells the incremental strategy to delete it -#}
    select
        ranked.partner_id,
        scope.period_grain,
        scope.period_start,
        {%- for attribute in attributes if attribute != 'is_partner_corrected' %}
            ranked.{{ attribute }},
        {%- endfor %}
        ranked.score,
        ranked.is_restated,
        ranked.rank_in_segment,
        ranked.percentile_in_segment,
        ranked.partner_period_index,
        ranked.previous_period_start,
        ranked.score_change,
        ranked.is_version_change,
        ranked.trend_3_period,
        scope.period_fingerprint
    from scope
    left join ranked
        on ranked.period_grain = scope.period_grain
        and ranked.period_start = scope.period_start
    {# tombstones only mean something to an incremental run #}
    where {{ 'true' if is_incremental() else 'ranked.partner_id is not null' }}
)

select * from final
