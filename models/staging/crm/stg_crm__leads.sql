{#- Leads sourced by or passed to partners. One row per lead_id: see stage_entity for dedup, blocks, corrections. -#}
{%- set columns = [
        ['lead_id', 'varchar'],
        ['partner_id', 'varchar'],
        ['created_date', 'date'],
        ['lead_source', 'varchar'],
        ['is_converted', 'boolean'],
        ['converted_date', 'date'],
        ['opportunity_id', 'varchar'],
] -%}

with

staged as (
    {{ stage_entity('crm', 'leads', 'lead_id', columns) | indent(4) }}
),

final as (
    select
        lead_id,
        partner_id,
        created_date,
        lower(lead_source) as lead_source,
        is_converted,
        converted_date,
        opportunity_id,
        is_corrected,
        extract_date,
        batch_id,
        loaded_at
    from staged
)

select * from final
