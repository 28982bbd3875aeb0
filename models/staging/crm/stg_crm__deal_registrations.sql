{#- Deal registrations submitted by partners and the vendor's decision. One row per deal_registration_id: see stage_entity for dedup, blocks, corrections. -#}
{%- set columns = [
        ['deal_registration_id', 'varchar'],
        ['partner_id', 'varchar'],
        ['customer_id', 'varchar'],
        ['submitted_date', 'date'],
        ['decided_date', 'date'],
        ['status', 'varchar'],
        ['estimated_value', 'decimal(18, 2)'],
        ['currency', 'varchar'],
] -%}

with

staged as (
    {{ stage_entity('crm', 'deal_registrations', 'deal_registration_id', columns) | indent(4) }}
),

final as (
    select
        deal_registration_id,
        partner_id,
        customer_id,
        submitted_date,
        decided_date,
        lower(status) as status,
        estimated_value,
        upper(coalesce(currency, 'USD')) as currency,
        cast(
            estimated_value
            * {{ usd_rate('staged.currency', 'staged.submitted_date') }} as {{ type_double() }}
        )
            as estimated_value_usd,
        is_corrected,
        extract_date,
        batch_id,
        loaded_at
    from staged
)

select * from final
