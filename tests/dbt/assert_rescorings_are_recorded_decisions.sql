{#- Every rescoring is a complete, recorded decision: it names an existing version, a range that
    starts before it ends, who decided, when and why. -#}
select
    rescorings.rescoring_id,
    rescorings.version,
    rescorings.from_period,
    rescorings.to_period
from {{ ref('scorecard_rescorings') }} as rescorings
left join {{ ref('scorecard_versions') }} as versions
    on versions.version = rescorings.version
where versions.version is null
    or rescorings.from_period is null
    or rescorings.to_period is null
    or rescorings.from_period > rescorings.to_period
    or coalesce(trim(rescorings.decided_by), '') = ''
    or rescorings.decided_at is null
    or coalesce(trim(rescorings.reason), '') = ''
