{% macro stage_entity(source_system, entity, key_column, columns, key_filter=none, append_only=false) -%}
    {#- One current, corrected row per key from raw_<source_system>.<entity>:
        rows of blocked batches dropped, latest _extract_date then latest _source_row kept,
        then partner-ops corrections from raw_meta.corrections applied (latest submitted_at per
        record and column wins; the value is cast to the column's type, an uncastable value
        leaves the column null). columns: list of [name, sql type] pairs, key included.
        key_filter: optional select of keys to stage (incremental runs restage only changed keys;
        dedup partitions by key, so restricting keys first gives the same rows for those keys).
        append_only: the entity is append-only facts (extracts.py kind "events"), where a key
        arrives once and a repeat is a re-delivery. A full build then ranks only the keys seen
        more than once and removes the rows they supersede, instead of ranking every row: the
        same rows without sorting all history (stg_portal at scale M: 7.9 s instead of 10.0 s).
        With key_filter the few keys in scope are ranked as usual: one scan of raw, not three. -#}
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
        {%- if append_only and not key_filter %}
        select raw_rows.*
        from {{ raw_relation }} as raw_rows
        left join (
            {#- the rows ranked below another row of their key: only repeated keys are sorted -#}
            select
                repeated_rows.{{ key_column }},
                repeated_rows._extract_date,
                repeated_rows._source_row,
                repeated_rows._loaded_at
            from (
                select
                    candidate_rows.{{ key_column }},
                    candidate_rows._extract_date,
                    candidate_rows._source_row,
                    candidate_rows._loaded_at,
                    {{ stage_entity_row_rank(key_column, 'candidate_rows') | indent(20) }}
                from {{ raw_relation }} as candidate_rows
                inner join (
                    select counted_rows.{{ key_column }}
                    from {{ raw_relation }} as counted_rows
                    where counted_rows.{{ key_column }} is not null
                    group by counted_rows.{{ key_column }}
                    having count(*) > 1
                ) as repeated_keys
                    on candidate_rows.{{ key_column }} = repeated_keys.{{ key_column }}
                where {{ not_blocked('candidate_rows._batch_id') }}
            ) as repeated_rows
            where repeated_rows.row_rank > 1
        ) as superseded
            on raw_rows.{{ key_column }} = superseded.{{ key_column }}
            and raw_rows._extract_date = superseded._extract_date
            and raw_rows._source_row = superseded._source_row
            and raw_rows._loaded_at = superseded._loaded_at
        where superseded.{{ key_column }} is null
            and {{ not_blocked('raw_rows._batch_id') }}
            and raw_rows.{{ key_column }} is not null
        {%- else %}
        select
            raw_rows.*,
            {{ stage_entity_row_rank(key_column, 'raw_rows') | indent(12) }}
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
        {%- endif %}
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
    {%- if not (append_only and not key_filter) %}
    where deduplicated.row_rank = 1
    {%- endif %}
{%- endmacro %}


{% macro stage_entity_row_rank(key_column, alias) -%}
    {#- 1 for the row of its key that staging keeps -#}
    row_number() over (
        partition by {{ alias }}.{{ key_column }}
        order by
            {{ alias }}._extract_date desc,
            {{ alias }}._source_row desc,
            {{ alias }}._loaded_at desc
    ) as row_rank
{%- endmacro %}
