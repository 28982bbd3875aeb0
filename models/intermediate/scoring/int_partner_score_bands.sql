{#- One row per scored partner period with its band. The first period takes the band its score
    falls in (min_score inclusive, max_score exclusive except 100). Afterwards the partner keeps its
    previous band while the score stays within hysteresis_points of that band's edges
    (previous band min - h <= score <= previous band max + h, using the current version's edges);
    otherwise it moves to the band the score falls in. -#}

with recursive

scores as (
    select * from {{ ref('int_partner_scores') }}
),

bands as (
    select * from {{ ref('scoring_bands') }}
),

raw_bands as (
    select
        scores.partner_id,
        scores.period_grain,
        scores.period_start,
        scores.partner_period_index,
        scores.scorecard_version,
        scores.hysteresis_points,
        scores.score,
        bands.band as raw_band
    from scores
    inner join bands
        on bands.version = scores.scorecard_version
        and scores.score >= bands.min_score
        and (scores.score < bands.max_score or (bands.max_score = 100 and scores.score <= 100))
),

banded as (
    select
        partner_id,
        period_grain,
        period_start,
        partner_period_index,
        score,
        raw_band,
        cast(null as {{ dbt.type_string() }}) as previous_band,
        raw_band as band
    from raw_bands
    where partner_period_index = 1

    union all

    select
        current_period.partner_id,
        current_period.period_grain,
        current_period.period_start,
        current_period.partner_period_index,
        current_period.score,
        current_period.raw_band,
        previous_period.band as previous_band,
        case
            when current_period.score >= previous_edges.min_score - current_period.hysteresis_points
                and current_period.score
                <= previous_edges.max_score + current_period.hysteresis_points
                then previous_period.band
            else current_period.raw_band
        end as band
    from raw_bands as current_period
    inner join banded as previous_period
        on previous_period.partner_id = current_period.partner_id
        and previous_period.period_grain = current_period.period_grain
        and previous_period.partner_period_index = current_period.partner_period_index - 1
    left join bands as previous_edges
        on previous_edges.version = current_period.scorecard_version
        and previous_edges.band = previous_period.band
),

final as (
    select
        partner_id,
        period_grain,
        period_start,
        score,
        raw_band,
        previous_band,
        band
    from banded
)

select * from final
