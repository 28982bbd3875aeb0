{#- One row per partner per period with a score (partners whose weighted metrics are all excluded
    are not scored): the score, its rank and percentile in the peer segment, the change since the
    partner's previous period of the same grain and the 3-period trend (least-squares slope over
    the last 3 scores = (score - score two periods back) / 2, points per period). -#}

with

partner_periods as (
    select * from {{ ref('int_partner_periods') }}
),

components as (
    select * from {{ ref('int_partner_score_components') }}
),

scored as (
    select
        partner_id,
        period_grain,
        period_start,
        max(score) as score,
        sum(effective_weight) as total_effective_weight,
        max(case when is_restated then 1 else 0 end) = 1 as has_restated_inputs
    from components
    group by partner_id, period_grain, period_start
    having sum(effective_weight) > 0
),

joined as (
    select
        partner_periods.partner_id,
        partner_periods.period_grain,
        partner_periods.period_start,
        partner_periods.period_end,
        partner_periods.partner_type,
        partner_periods.region,
        partner_periods.current_tier,
        partner_periods.scorecard_version,
        partner_periods.is_rescored,
        partner_periods.rescoring_id,
        partner_periods.attributes_extract_date,
        partner_periods.peer_level,
        partner_periods.peer_segment,
        partner_periods.peer_group_size,
        partner_periods.early_warning_drop_points,
        partner_periods.hysteresis_points,
        scored.score,
        scored.has_restated_inputs or partner_periods.is_partner_corrected as is_restated
    from partner_periods
    inner join scored
        on scored.partner_id = partner_periods.partner_id
        and scored.period_grain = partner_periods.period_grain
        and scored.period_start = partner_periods.period_start
),

final as (
    select
        *,
        rank() over (
            partition by period_grain, period_start, peer_segment order by score desc
        ) as rank_in_segment,
        cast(round(100.0 * (1 - percent_rank() over (
            partition by period_grain, period_start, peer_segment order by score desc
        )), 2) as decimal(5, 2)) as percentile_in_segment,
        row_number() over (
            partition by partner_id, period_grain order by period_start
        ) as partner_period_index,
        lag(period_start) over (
            partition by partner_id, period_grain order by period_start
        ) as previous_period_start,
        score - lag(score) over (
            partition by partner_id, period_grain order by period_start
        ) as score_change,
        {#- A change of scorecard between two periods is a change of method, not of performance. -#}
        coalesce(lag(scorecard_version) over (
            partition by partner_id, period_grain order by period_start
        ) <> scorecard_version, false) as is_version_change,
        cast((score - lag(score, 2) over (
            partition by partner_id, period_grain order by period_start
        )) / 2.0 as decimal(9, 2)) as trend_3_period
    from joined
)

select * from final
