{#- Sales opportunities registered or influenced by a partner; latest state per extract. One row per opportunity_id: see stage_entity for dedup, blocks, corrections.
    Incremental, unlike the other CRM staging views: deduplicating every extract's restated
    opportunities and converting currencies took 2-3 s at scale M and 16-18 s at L, on every run.
    A run restages the keys of batches it has not staged (dbt_meta.staged_batches: a monthly
    extract restates every open opportunity, so older batches keep no staged row), of blocked,
    released or re-delivered batches, of corrections, and the rows whose USD amount the current
    fx_rates would change (a corrected rate, or a new month that a clamped rate moves to). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='opportunity_id',
    scope_marker='loaded_at',
    on_schema_change='fail',
    post_hook="{{ record_staged_batches('crm', 'opportunities') }}",
) }}
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

{%- set repriced_keys -%}
    {#- staged rows the current rates convert to another USD amount -#}
    select staged_rows.opportunity_id
    from {{ this }} as staged_rows
    cross join (
        select
            min(month) as first_month,
            max(month) as last_month
        from {{ ref('fx_rates') }}
    ) as fx_bounds
    left join {{ ref('fx_rates') }} as fx_rates
        on staged_rows.currency = fx_rates.currency
        and {{ clamped_rate_month(
            'coalesce(staged_rows.closed_date, staged_rows.created_date)',
            'fx_bounds.first_month',
            'fx_bounds.last_month',
        ) }} = fx_rates.month
    where staged_rows.amount_usd
        is distinct from cast(staged_rows.amount * fx_rates.usd_per_unit as {{ type_double() }})
{%- endset %}

with

staged as (
    {{ stage_entity_incremental(
        'crm', 'opportunities', 'opportunity_id', columns,
        batch_record=true, also_changed_keys=repriced_keys,
    ) | indent(4) }}
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
        {{ clamped_rate_month(
            'coalesce(staged.closed_date, staged.created_date)',
            'fx_bounds.first_month',
            'fx_bounds.last_month',
        ) }} as rate_month
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
