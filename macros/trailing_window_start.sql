{% macro trailing_window_start(period_end, window_months) -%}
    {#- The first month of a trailing window of window_months months that ends with the month of
        period_end. The window sums and the period fingerprints of int_partner_metrics both use
        it, so the facts a period's fingerprint covers are the facts its sums read. -#}
    cast({{ dbt.dateadd(
        'month',
        '1 - ' ~ window_months,
        dbt.date_trunc('month', period_end),
    ) }} as date)
{%- endmacro %}
