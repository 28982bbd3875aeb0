{#- One row per scored partner period with its band. The first period takes the band its score
    falls in (min_score inclusive, max_score exclusive except 100). Afterwards the partner keeps its
    previous band while the score stays within hysteresis_points of that band's edges
    (previous band min - h <= score <= previous band max + h, using the current version's edges);
    otherwise it moves to the band the score falls in.
    Incremental by period, like int_partner_scores: a band depends on the bands before it, so a
    run redoes every period of a grain from the earliest whose fingerprint (the scores', the
    bands' and this model's SQL) changed, and the chain starts from the stored band of each
    partner's period before them. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key=['period_grain', 'period_start'],
    scope_marker='partner_id',
    on_schema_change='fail',
) }}

with recursive

scores as (
    select * from {{ ref('int_partner_scores') }}
),

bands as (
    select * from {{ ref('scoring_bands') }}
),

period_fingerprints as (
    select
        period_grain,
        period_start,
        period_fingerprint
        + {{ settings_fingerprint({
            ref('scoring_bands'): ['version', 'band', 'min_score', 'max_score'],
        }) }} as period_fingerprint
    from ({{ period_fingerprints_of(ref('int_partner_scores')) }}) as score_periods
),

scope as (
    {{ changed_period_scope('period_fingerprints', through_later_periods=true) }}
),

raw_bands as (
    select
        scores.partner_id,
        scores.period_grain,
        scores.period_start,
        scores.partner_period_index,
        scores.previous_period_start,
        scores.scorecard_version,
        scores.hysteresis_points,
        scores.score,
        bands.band as raw_band
    from scores
    inner join scope
        on scope.period_grain = scores.period_grain
        and scope.period_start = scores.period_start
    inner join bands
        on bands.version = scores.scorecard_version
        and scores.score >= bands.min_score
        and (scores.score < bands.max_score or (bands.max_score = 100 and scores.score <= 100))
),

chain_starts as (
    {#- Each partner's first period in scope, with the band before it: none for the partner's
        first period; in an incremental run, the stored band of its previous period. -#}
    select
        raw_bands.*,
        {{ 'stored.band' if is_incremental() else 'cast(null as ' ~ dbt.type_string() ~ ')' }}
            as previous_band
    from raw_bands
    {%- if is_incremental() %}
    left join {{ this }} as stored
        on stored.partner_id = raw_bands.partner_id
        and stored.period_grain = raw_bands.period_grain
        and stored.period_start = raw_bands.previous_period_start
    {%- endif %}
    where raw_bands.previous_period_start is null
        or not exists (
            select 1
            from scope
            where scope.period_grain = raw_bands.period_grain
                and scope.period_start = raw_bands.previous_period_start
        )
),

banded as (
    select
        chain_starts.partner_id,
        chain_starts.period_grain,
        chain_starts.period_start,
        chain_starts.partner_period_index,
        chain_starts.score,
        chain_starts.raw_band,
        chain_starts.previous_band,
        {{ hysteresis_band('chain_starts', 'chain_starts.previous_band') }} as band
    from chain_starts
    left join bands as previous_edges
        on previous_edges.version = chain_starts.scorecard_version
        and previous_edges.band = chain_starts.previous_band

    union all

    select
        current_period.partner_id,
        current_period.period_grain,
        current_period.period_start,
        current_period.partner_period_index,
        current_period.score,
        current_period.raw_band,
        previous_period.band as previous_band,
        {{ hysteresis_band('current_period', 'previous_period.band') }} as band
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
    {#- the rows of the periods in scope; a period in scope without scores keeps one row with a
        null partner_id, which only tells the incremental strategy to delete it -#}
    select
        banded.partner_id,
        scope.period_grain,
        scope.period_start,
        banded.score,
        banded.raw_band,
        banded.previous_band,
        banded.band,
        scope.period_fingerprint
    from scope
    left join banded
        on banded.period_grain = scope.period_grain
        and banded.period_start = scope.period_start
    {# tombstones only mean something to an incremental run #}
    where {{ 'true' if is_incremental() else 'banded.partner_id is not null' }}
)

select * from final
