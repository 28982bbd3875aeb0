{% macro usd_rate(currency_expr, date_expr) -%}
    {#- USD per unit of the currency for the month of date_expr from seed fx_rates.
        Null currency means USD; months outside the seeded range use the nearest seeded month
        (clamped); an unknown currency gives null (the amount is then left out of sums). -#}
    (
        select fx.usd_per_unit
        from {{ ref('fx_rates') }} as fx
        where fx.currency = upper(coalesce({{ currency_expr }}, 'USD'))
            and fx.month = {{ clamped_rate_month(
                date_expr,
                '(select min(bounds.month) from ' ~ ref('fx_rates') ~ ' as bounds)',
                '(select max(bounds.month) from ' ~ ref('fx_rates') ~ ' as bounds)',
            ) }}
    )
{%- endmacro %}

{% macro clamped_rate_month(date_expr, first_month, last_month) -%}
    {#- The fx_rates month an amount dated date_expr converts at: its month, clamped to the
        seeded months (first_month, last_month: SQL expressions). usd_rate looks the rate up with
        it; stg_crm__opportunities joins on it and finds the staged rows a rate change reprices. -#}
    least(
        greatest(cast({{ dbt.date_trunc('month', date_expr) }} as date), {{ first_month }}),
        {{ last_month }}
    )
{%- endmacro %}
