{#- Partner-portal activity events, one JSON object per line. One row per event_id: see stage_entity for dedup, blocks, corrections.
    Incremental: a run restages only the events of changed batches and corrections
    (see stage_entity_incremental), an event left without a current row is deleted. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='event_id',
    scope_marker='loaded_at',
    on_schema_change='fail',
) }}
{%- set columns = [
        ['event_id', 'varchar'],
        ['partner_id', 'varchar'],
        ['user_id', 'varchar'],
        ['event_type', 'varchar'],
        ['occurred_at', 'timestamp'],
        ['properties', 'json'],
] -%}

with

scoped as (
    {{ stage_entity_incremental(
        'portal', 'activity_events', 'event_id', columns, append_only=true
    ) | indent(4) }}
),

final as (
    select
        event_id,
        partner_id,
        user_id,
        lower(event_type) as event_type,
        occurred_at,
        cast(occurred_at as date) as occurred_date,
        is_corrected,
        extract_date,
        batch_id,
        loaded_at
    from scoped
)

select * from final
