{#- Sales opportunities registered or influenced by a partner; latest state per extract. One row per opportunity_id: see stage_entity for dedup, blocks, corrections. -#}
{#- A table, unlike the other CRM staging views: deduplicating every extract's restated
    opportunities and converting currencies takes about 5 s at scale M, and the scoring periods,
    the monthly facts and the data tests each read it; as a view each read paid it again. -#}
{{ config(materialized='table') }}
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

with

staged as (
    {{ stage_entity('crm', 'opportunities', 'opportunity_id', columns) | indent(4) }}
),

fx_rates as (
    select * from {{ ref('fx_rates') }}
),

fx_bounds as (
    select
        min(month) as first_month,
        max(month) as last_month
    from fx_rates
),

staged_with_rate_key as (
    {#- the usd_rate rule as an equi-join key: the close month, or the created month while open,
        clamped to the seeded months; null currency is USD. The scalar usd_rate() subquery
        made DuckDB join every row to every month of its currency (29 M rows at scale M). -#}
    select
        staged.*,
        upper(coalesce(staged.currency, 'USD')) as rate_currency,
        least(
            greatest(
                cast({{
                    dbt.date_trunc('month', 'coalesce(staged.closed_date, staged.created_date)')
                }} as date),
                fx_bounds.first_month
            ),
            fx_bounds.last_month
        ) as rate_month
    from staged
    cross join fx_bounds
),

final as (
    select
        opportunity_id,
        partner_id,
        customer_id,
        amount,
        upper(coalesce(staged_with_rate_key.currency, 'USD')) as currency,
        {#- amounts convert at the rate of the close month, or the created month while open -#}
        cast(amount * fx_rates.usd_per_unit as {{ type_double() }}) as amount_usd,
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
    from staged_with_rate_key
    left join fx_rates
        on staged_with_rate_key.rate_currency = fx_rates.currency
        and staged_with_rate_key.rate_month = fx_rates.month
)

select * from final
