{% macro stage_entity_incremental(
    source_system, entity, key_column, columns, append_only=false, batch_record=false,
    also_changed_keys=none
) -%}
    {#- stage_entity for an incremental model (strategy replace_scope, scope_marker loaded_at).
        Full build: every key. Incremental run: only the keys stage_changed_keys finds, each once,
        with its current row or, when it has none left (blocked, re-delivered without it), a
        tombstone whose columns are all null but the key, so the strategy deletes it.
        append_only: see stage_entity; it speeds up the full build only.
        batch_record: see stage_changed_keys (snapshot entities).
        also_changed_keys: a select of more keys to restage, for what the model adds to the
        staged row besides the raw columns (currency conversion). -#}
    {%- if not is_incremental() -%}
    {{ stage_entity(source_system, entity, key_column, columns, append_only=append_only) }}
    {%- else -%}
    with changed_keys as (
        {{ stage_changed_keys(
            source_system, entity, key_column, this, batch_record=batch_record
        ) | indent(8) }}
        {%- if also_changed_keys %}

        union

        {{ also_changed_keys | indent(8) }}
        {%- endif %}
    )

    select
        changed_keys.{{ key_column }},
        {%- for column in columns if column[0] != key_column %}
        staged.{{ column[0] }},
        {%- endfor %}
        staged.is_corrected,
        staged.extract_date,
        staged.batch_id,
        staged.loaded_at,
        staged.source_file,
        staged.source_row
    from changed_keys
    left join (
        {{ stage_entity(
            source_system, entity, key_column, columns,
            key_filter='select changed.' ~ key_column ~ ' from changed_keys as changed',
        ) | indent(8) }}
    ) as staged
        on changed_keys.{{ key_column }} = staged.{{ key_column }}
    {%- endif %}
{%- endmacro %}
