{% macro row_fingerprint(expressions) -%}
    {#- A 64-bit hash of the given expressions, for order-independent set fingerprints
        (sum it over a group: any added, removed or changed row changes the sum). -#}
    {{ return(adapter.dispatch('row_fingerprint', 'partnerscore')(expressions)) }}
{%- endmacro %}

{% macro default__row_fingerprint(expressions) -%}
    {#- md5 is everywhere; its first 15 hex digits fit a signed bigint. -#}
    cast(('x' || substr(md5(concat_ws('|',
        {%- for expression in expressions %}
        coalesce(cast({{ expression }} as {{ dbt.type_string() }}), '\x00')
        {{- "," if not loop.last }}
        {%- endfor %}
    )), 1, 15)) as bit(60)) as bigint)
{%- endmacro %}

{% macro duckdb__row_fingerprint(expressions) -%}
    {#- DuckDB's hash() takes any types and several arguments, nulls included: no casts to text. -#}
    cast(hash({{ expressions | join(', ') }}) >> 1 as bigint)
{%- endmacro %}
