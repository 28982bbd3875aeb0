{% macro percentile_rank_score(values_below, value_ties, value_count) -%}
    {#- Mid-rank percentile on 0-100 of a value from its counts in the segment: 100 * (values below
        + (ties - 1) / 2) / (n - 1). Ties share one value, all-equal values and a single value give
        50. Taking counts rather than a window partition lets the caller count each distinct value
        once (a hash aggregate) instead of ranking every row with three window functions. -#}
    case
        when {{ value_count }} = 1 then 50.0
        else 100.0 * ({{ values_below }} + ({{ value_ties }} - 1) / 2.0) / ({{ value_count }} - 1)
    end
{%- endmacro %}
