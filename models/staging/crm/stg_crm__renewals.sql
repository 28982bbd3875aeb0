{#- Contract renewals due on customers a partner manages. One row per renewal_id: see stage_entity for dedup, blocks, corrections. -#}
{%- set columns = [
        ['renewal_id', 'varchar'],
        ['partner_id', 'varchar'],
        ['customer_id', 'varchar'],
        ['contract_end_date', 'date'],
        ['renewal_status', 'varchar'],
        ['original_amount', 'decimal(18, 2)'],
        ['renewed_amount', 'decimal(18, 2)'],
        ['currency', 'varchar'],
] -%}

with

staged as (
    {{ stage_entity('crm', 'renewals', 'renewal_id', columns) | indent(4) }}
),

final as (
    select
        renewal_id,
        partner_id,
        customer_id,
        contract_end_date,
        lower(renewal_status) as renewal_status,
        original_amount,
        renewed_amount,
        upper(coalesce(currency, 'USD')) as currency,
        cast(
            original_amount
            * {{ usd_rate('staged.currency', 'staged.contract_end_date') }} as {{ type_double() }}
        )
            as original_amount_usd,
        cast(
            renewed_amount
            * {{ usd_rate('staged.currency', 'staged.contract_end_date') }} as {{ type_double() }}
        )
            as renewed_amount_usd,
        is_corrected,
        extract_date,
        batch_id,
        loaded_at
    from staged
)

select * from final
