{% macro not_blocked(batch_id_column) -%}
    {#- True for rows whose batch has no unreleased block in raw_meta.blocked_batches.
        not exists (rather than not in) keeps rows whose batch id is null. -#}
    not exists (
        select 1
        from {{ source('raw_meta', 'blocked_batches') }} as blocked
        where blocked.batch_id = {{ batch_id_column }}
            and blocked.released_at is null
    )
{%- endmacro %}
