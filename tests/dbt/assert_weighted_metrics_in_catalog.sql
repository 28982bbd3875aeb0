{#- Every weighted metric and every benchmarked metric exists in the metric catalog, and every
    version with weights exists in scorecard_versions. -#}
select 'weight' as kind, weights.version, weights.metric_key
from {{ ref('scoring_weights') }} as weights
left join {{ ref('scoring_metric_catalog') }} as catalog
    on catalog.metric_key = weights.metric_key
left join {{ ref('scorecard_versions') }} as versions
    on versions.version = weights.version
where catalog.metric_key is null or versions.version is null
union all
select 'benchmark' as kind, cast(null as {{ dbt.type_string() }}) as version, benchmarks.metric_key
from {{ ref('scoring_benchmarks') }} as benchmarks
left join {{ ref('scoring_metric_catalog') }} as catalog
    on catalog.metric_key = benchmarks.metric_key
where catalog.metric_key is null
