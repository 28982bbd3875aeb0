{#- Weights of every version and partner type sum to exactly 100 points. -#}
select
    version,
    partner_type,
    sum(weight) as total_weight
from {{ ref('scoring_weights') }}
group by version, partner_type
having abs(sum(weight) - 100) > 0.000001
