{% macro generate_schema_name(custom_schema_name, node) -%}
    {#- Custom schemas are used as-is (staging, intermediate, marts, scoring_config, snapshots)
        so every environment shares the schema names the Dagster asset keys use. -#}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
