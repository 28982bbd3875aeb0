{% macro stage_entity(source_system, entity, key_column, columns, key_filter=none) -%}
    {#- One current, corrected row per key from raw_<source_system>.<entity>:
        rows of blocked batches dropped, latest _extract_date then latest _source_row kept,
        then partner-ops corrections from raw_meta.corrections applied (latest submitted_at per
        record and column wins; the value is cast to the column's type, an uncastable value
        leaves the column null). columns: list of [name, sql type] pairs, key included.
        key_filter: optional select of keys to stage (incremental runs restage only changed keys;
        dedup partitions by key, so restricting keys first gives the same rows for those keys). -#}
    {%- set raw_relation = source('raw_' ~ source_system, entity) -%}
    select
        {%- for column in columns %}
        {%- if column[0] == key_column %}
        deduplicated.{{ column[0] }},
        {%- else %}
        case
            when corrections.has_{{ column[0] }} = 1
                then {{ dbt.safe_cast('corrections.' ~ column[0], column[1]) }}
            else deduplicated.{{ column[0] }}
        end as {{ column[0] }},
        {%- endif %}
        {%- endfor %}
        corrections.record_key is not null as is_corrected,
        deduplicated._extract_date as extract_date,
        deduplicated._batch_id as batch_id,
        deduplicated._loaded_at as loaded_at,
        deduplicated._source_file as source_file,
        deduplicated._source_row as source_row
    from (
        select
            raw_rows.*,
            row_number() over (
                partition by raw_rows.{{ key_column }}
                order by
                    raw_rows._extract_date desc,
                    raw_rows._source_row desc,
                    raw_rows._loaded_at desc
            ) as row_rank
        from {{ raw_relation }} as raw_rows
        {%- if key_filter %}
        {# a join on the distinct keys, not `in (...)`: DuckDB hashed all raw rows for the
           semi join (10 s at 10 M events), the join hashes the few keys #}
        inner join (
            select distinct scope_keys.{{ key_column }}
            from ({{ key_filter }}) as scope_keys
        ) as key_scope
            on raw_rows.{{ key_column }} = key_scope.{{ key_column }}
        {%- endif %}
        where {{ not_blocked('raw_rows._batch_id') }}
            and raw_rows.{{ key_column }} is not null
    ) as deduplicated
    left join (
        select
            record_key,
            {%- for column in columns if column[0] != key_column %}
            max(case when column_name = '{{ column[0] }}' then 1 else 0 end)
                as has_{{ column[0] }},
            max(case when column_name = '{{ column[0] }}' then corrected_value end)
                as {{ column[0] }}{{ "," if not loop.last }}
            {%- endfor %}
        from (
            select
                record_key,
                column_name,
                corrected_value,
                row_number() over (
                    partition by record_key, column_name
                    order by submitted_at desc, correction_id desc
                ) as correction_rank
            from {{ source('raw_meta', 'corrections') }}
            where source = '{{ source_system }}'
                and entity = '{{ entity }}'
        ) as ranked_corrections
        where correction_rank = 1
        group by record_key
    ) as corrections
        on corrections.record_key = cast(deduplicated.{{ key_column }} as {{ dbt.type_string() }})
    where deduplicated.row_rank = 1
{%- endmacro %}
