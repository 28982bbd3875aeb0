{#- Partner accounts as exported from the CRM; one row per partner. One row per partner_id: see stage_entity for dedup, blocks, corrections. -#}
{%- set columns = [
        ['partner_id', 'varchar'],
        ['partner_name', 'varchar'],
        ['partner_type', 'varchar'],
        ['tier', 'varchar'],
        ['region', 'varchar'],
        ['country', 'varchar'],
        ['segment', 'varchar'],
        ['joined_date', 'date'],
        ['status', 'varchar'],
        ['parent_partner_id', 'varchar'],
        ['employee_count', 'bigint'],
] -%}

with

staged as (
    {{ stage_entity('crm', 'partners', 'partner_id', columns) | indent(4) }}
),

final as (
    select
        {{ partner_attributes() | indent(8) }},
        batch_id,
        loaded_at
    from staged
)

select * from final
