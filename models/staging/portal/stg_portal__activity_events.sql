{#- Partner-portal activity events, one JSON object per line. One row per event_id: see stage_entity for dedup, blocks, corrections. -#}
{%- set columns = [
        ['event_id', 'varchar'],
        ['partner_id', 'varchar'],
        ['user_id', 'varchar'],
        ['event_type', 'varchar'],
        ['occurred_at', 'timestamp'],
        ['properties', 'json'],
] -%}

with

staged as (
    {{ stage_entity('portal', 'activity_events', 'event_id', columns) | indent(4) }}
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
    from staged
)

select * from final
