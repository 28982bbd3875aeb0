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
        partner_id,
        partner_name,
        lower(partner_type) as partner_type,
        lower(tier) as tier,
        upper(region) as region,
        upper(country) as country_code,
        lower(segment) as customer_segment,
        joined_date,
        lower(status) as status,
        nullif(parent_partner_id, '') as parent_partner_id,
        employee_count,
        is_corrected,
        extract_date,
        batch_id,
        loaded_at
    from staged
)

select * from final
