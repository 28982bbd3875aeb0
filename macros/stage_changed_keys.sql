{% macro stage_changed_keys(source_system, entity, key_column, staged_relation) -%}
    {#- Keys an incremental staging model must restage, found by comparing load batches (no
        clocks): keys of raw batches not staged yet and not blocked (new loads, re-delivered
        extracts, released blocks); keys staged from a batch that left raw (the extract was
        re-delivered, ingest replaced its rows) or that is now blocked; and every key with a
        partner-ops correction, past or present (corrections are few; this also undoes withdrawn
        ones). For event entities: a snapshot entity restates keys in every extract, so its older
        batches keep no staged row and would be restaged on every run. -#}
    {%- set raw_relation = source('raw_' ~ source_system, entity) -%}
    select raw_rows.{{ key_column }}
    from {{ raw_relation }} as raw_rows
    where raw_rows._batch_id in (
        select distinct raw_batches._batch_id
        from {{ raw_relation }} as raw_batches
        where raw_batches._batch_id not in (
            {#- distinct: the anti join then hashes a few dozen batch ids, not every staged row -#}
            select distinct staged_batches.batch_id
            from {{ staged_relation }} as staged_batches
            where staged_batches.batch_id is not null
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
