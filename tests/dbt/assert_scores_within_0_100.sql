{#- Scores and normalized values stay on 0-100. -#}
select partner_id, period_grain, period_start, metric_key, normalized_value
from {{ ref('fct_partner_score_components') }}
where normalized_value < 0 or normalized_value > 100 or contribution_points < 0
union all
select partner_id, period_grain, period_start, 'score', score
from {{ ref('fct_partner_scores') }}
where score < 0 or score > 100
