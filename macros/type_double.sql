{% macro type_double() -%}
    {#- A double-precision float type. dbt.type_float() is single precision (float4) on DuckDB,
        too coarse for USD amounts, so this is dispatched per adapter. -#}
    {{ return(adapter.dispatch('type_double', 'partnerscore')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}
