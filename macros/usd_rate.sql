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
