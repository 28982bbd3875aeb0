{#- Contributions sum exactly to the score, and effective weights to 100. -#}
select
    scores.partner_id,
    scores.period_grain,
    scores.period_start,
    scores.score,
    sum(components.contribution_points) as contribution_total,
    sum(components.weight) as weight_total
from {{ ref('fct_partner_scores') }} as scores
inner join {{ ref('fct_partner_score_components') }} as components
    on components.partner_id = scores.partner_id
    and components.period_grain = scores.period_grain
    and components.period_start = scores.period_start
group by scores.partner_id, scores.period_grain, scores.period_start, scores.score
having sum(components.contribution_points) <> scores.score
    or abs(sum(components.weight) - 100) > 0.01
