{#- The per-metric contribution changes sum exactly to the score change. -#}
select
    scores.partner_id,
    scores.period_grain,
    scores.period_start,
    scores.score_change,
    sum(changes.contribution_change) as change_total
from {{ ref('fct_partner_scores') }} as scores
inner join {{ ref('fct_partner_score_changes') }} as changes
    on changes.partner_id = scores.partner_id
    and changes.period_grain = scores.period_grain
    and changes.period_start = scores.period_start
group by scores.partner_id, scores.period_grain, scores.period_start, scores.score_change
having sum(changes.contribution_change) <> scores.score_change
