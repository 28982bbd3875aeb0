{#- Sales opportunities registered or influenced by a partner; latest state per extract. One row per opportunity_id: see stage_entity for dedup, blocks, corrections. -#}
{%- set columns = [
        ['opportunity_id', 'varchar'],
        ['partner_id', 'varchar'],
        ['customer_id', 'varchar'],
        ['amount', 'decimal(18, 2)'],
        ['currency', 'varchar'],
        ['stage', 'varchar'],
        ['created_date', 'date'],
        ['closed_date', 'date'],
        ['is_won', 'boolean'],
        ['product_line', 'varchar'],
        ['deal_registration_id', 'varchar'],
] -%}
{%- set rate_date = 'coalesce(staged.closed_date, staged.created_date)' -%}

with

staged as (
    {{ stage_entity('crm', 'opportunities', 'opportunity_id', columns) | indent(4) }}
),

final as (
    select
        opportunity_id,
        partner_id,
        customer_id,
        amount,
        upper(coalesce(currency, 'USD')) as currency,
        {#- amounts convert at the rate of the close month, or the created month while open -#}
        cast(
            amount * {{ usd_rate('staged.currency', rate_date) }} as {{ type_double() }}
        ) as amount_usd,
        lower(stage) as stage,  -- noqa: RF04
        created_date,
        closed_date,
        coalesce(is_won, lower(stage) = 'closed_won') as is_won,
        lower(stage) in ('closed_won', 'closed_lost') as is_closed,
        product_line,
        deal_registration_id,
        is_corrected,
        extract_date,
        batch_id,
        loaded_at
    from staged
)

select * from final
