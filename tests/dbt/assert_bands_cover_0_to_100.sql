{#- Per version the bands, sorted by min_score, start at 0, end at 100 and each band starts
    exactly where the previous one ends (no gap, no overlap). -#}
with

bands as (
    select
        version,
        band,
        min_score,
        max_score,
        lag(max_score) over (partition by version order by min_score) as previous_max,
        row_number() over (partition by version order by min_score) as band_position,
        row_number() over (partition by version order by min_score desc) as band_position_desc
    from {{ ref('scoring_bands') }}
)

select *
from bands
where (band_position = 1 and min_score <> 0)
    or (band_position_desc = 1 and max_score <> 100)
    or (band_position > 1 and min_score <> previous_max)
    or max_score <= min_score
