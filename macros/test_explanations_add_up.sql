{#- The explanations of a score add up to it, per partner period of the scores `model`.
    Attached to fct_partner_scores, whose periods a run rewrites with those of the components
    and changes, so each can only fail in a period the scores rewrote: tested_scope.sql narrows
    `model` to those periods, and the other mart is read for the same periods only. -#}

{% test contributions_sum_to_score(model, components) %}
    {#- Contributions sum exactly to the score, and effective weights to 100. -#}
    with

    scores as (
        select * from {{ model }}
    ),

    scoped_components as (
        {{ rows_of_scored_periods(components, 'scores') | indent(8) }}
    )

    select
        scores.partner_id,
        scores.period_grain,
        scores.period_start,
        scores.score,
        sum(scoped_components.contribution_points) as contribution_total,
        sum(scoped_components.weight) as weight_total
    from scores
    inner join scoped_components
        on scoped_components.partner_id = scores.partner_id
        and scoped_components.period_grain = scores.period_grain
        and scoped_components.period_start = scores.period_start
    group by scores.partner_id, scores.period_grain, scores.period_start, scores.score
    having sum(scoped_components.contribution_points) <> scores.score
        or abs(sum(scoped_components.weight) - 100) > 0.01
{% endtest %}

{% test changes_sum_to_score_change(model, changes) %}
    {#- The per-metric contribution changes sum exactly to the score change. -#}
    with

    scores as (
        select * from {{ model }}
    ),

    scoped_changes as (
        {{ rows_of_scored_periods(changes, 'scores') | indent(8) }}
    )

    select
        scores.partner_id,
        scores.period_grain,
        scores.period_start,
        scores.score_change,
        sum(scoped_changes.contribution_change) as change_total
    from scores
    inner join scoped_changes
        on scoped_changes.partner_id = scores.partner_id
        and scoped_changes.period_grain = scores.period_grain
        and scoped_changes.period_start = scores.period_start
    group by scores.partner_id, scores.period_grain, scores.period_start, scores.score_change
    having sum(scoped_changes.contribution_change) <> scores.score_change
{% endtest %}

{% macro rows_of_scored_periods(relation, scores) -%}
    {#- the rows of `relation` in the periods of the `scores` relation or CTE -#}
    select explained.*
    from {{ relation }} as explained
    inner join (select distinct period_grain, period_start from {{ scores }}) as scored_periods
        on explained.period_grain = scored_periods.period_grain
        and explained.period_start = scored_periods.period_start
{%- endmacro %}
