{% macro usd_rate(currency_expr, date_expr) -%}
    {#- USD per unit of the currency for the month of date_expr from seed fx_rates.
        Null currency means USD; months outside the seeded range use the nearest seeded month
        (clamped); an unknown currency gives null (the amount is then left out of sums). -#}
    (
        select fx.usd_per_unit
        from {{ ref('fx_rates') }} as fx
        where fx.currency = upper(coalesce({{ currency_expr }}, 'USD'))
            and fx.month = least(
                greatest(
                    {{ dbt.date_trunc('month', date_expr) }},
                    (select min(bounds.month) from {{ ref('fx_rates') }} as bounds)
                ),
                (select max(bounds.month) from {{ ref('fx_rates') }} as bounds)
            )
    )
{%- endmacro %}

{% macro usd_rate_month(row_alias, bounds_alias) -%}
    {#- The fx_rates month an opportunity converts at: the close month, or the created month
        while open, clamped to the seeded months (bounds_alias: first_month, last_month). Used as
        an equi-join key, and again to find staged rows a rate change reprices. -#}
    least(
        greatest(
            cast({{
                dbt.date_trunc(
                    'month',
                    'coalesce(' ~ row_alias ~ '.closed_date, ' ~ row_alias ~ '.created_date)',
                )
            }} as date),
            {{ bounds_alias }}.first_month
        ),
        {{ bounds_alias }}.last_month
    )
{%- endmacro %}
