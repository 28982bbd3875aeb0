{% macro stage_changed_keys(source_system, entity, key_column, staged_relation, batch_record=false) -%}
    {#- Keys an incremental staging model must restage, found by comparing load batches (no
        clocks): keys of raw batches not staged yet and not blocked (new loads, re-delivered
        extracts, released blocks); keys staged from a batch that left raw (the extract was
        re-delivered, ingest replaced its rows) or that is now blocked; and every key with a
        partner-ops correction, past or present (corrections are few; this also undoes withdrawn
        ones).
        batch_record: which batches are staged comes from dbt_meta.staged_batches (see
        record_staged_batches) instead of the model's own batch ids. A snapshot entity restates
        its keys in every extract, so an older batch keeps no staged row, and without the
        record its keys would be restaged on every run. -#}
    {%- set raw_relation = source('raw_' ~ source_system, entity) -%}
    select raw_rows.{{ key_column }}
    from {{ raw_relation }} as raw_rows
    where raw_rows._batch_id in (
        select distinct raw_batches._batch_id
        from {{ raw_relation }} as raw_batches
        where raw_batches._batch_id not in (
            {%- if batch_record %}
            select recorded.batch_id
            from dbt_meta.staged_batches as recorded
            where recorded.model = '{{ staged_relation.identifier }}'
            {%- else %}
            {#- distinct: the anti join then hashes a few dozen batch ids, not every staged row -#}
            select distinct staged_batches.batch_id
            from {{ staged_relation }} as staged_batches
            where staged_batches.batch_id is not null
            {%- endif %}
        )
            and {{ not_blocked('raw_batches._batch_id') }}
    )

    union

    select staged.{{ key_column }}
    from {{ staged_relation }} as staged
    where staged.is_corrected
        or not {{ not_blocked('staged.batch_id') }}
        or staged.batch_id not in (
            select distinct raw_batches._batch_id
            from {{ raw_relation }} as raw_batches
            where raw_batches._batch_id is not null
        )

    union

    select corrections.record_key
    from {{ source('raw_meta', 'corrections') }} as corrections
    where corrections.source = '{{ source_system }}'
        and corrections.entity = '{{ entity }}'
{%- endmacro %}

{% macro create_staged_batches_table() -%}
    create schema if not exists dbt_meta;
    create table if not exists dbt_meta.staged_batches (
        model {{ dbt.type_string() }},
        batch_id {{ dbt.type_string() }}
    );
{%- endmacro %}

{% macro record_staged_batches(source_system, entity) -%}
    {#- post-hook of a staging model read with batch_record (inside the model's transaction):
        after a full build or an incremental run the model is current with every raw batch not
        blocked now, so that is its record. A batch blocked since is left out, and its keys are
        restaged again when it is released. -#}
    {{ create_staged_batches_table() }}
    delete from dbt_meta.staged_batches where model = '{{ this.identifier }}';
    insert into dbt_meta.staged_batches
    select distinct
        '{{ this.identifier }}' as model,
        raw_batches._batch_id as batch_id
    from {{ source('raw_' ~ source_system, entity) }} as raw_batches
    where raw_batches._batch_id is not null
        and {{ not_blocked('raw_batches._batch_id') }};
{%- endmacro %}
