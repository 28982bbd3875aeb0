{% macro percentile_rank_score(value_column, partition_by) -%}
    {#- Mid-rank percentile on 0-100 within the partition: 100 * (values below + (ties - 1) / 2)
        / (n - 1). Ties share one value, all-equal values and a single value give 50.
        Rows with a null value must be filtered out before. -#}
    case
        when count(*) over (partition by {{ partition_by }}) = 1 then 50.0
        else 100.0 * (
            (rank() over (partition by {{ partition_by }} order by {{ value_column }}) - 1)
            + (count(*) over (partition by {{ partition_by }}, {{ value_column }}) - 1) / 2.0
        ) / (count(*) over (partition by {{ partition_by }}) - 1)
    end
{%- endmacro %}
