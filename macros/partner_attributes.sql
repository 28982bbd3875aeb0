{#- The partner attributes as staging presents them (codes normalised, country renamed), shared
    by stg_crm__partners (current row) and stg_crm__partners_history (one row per extract) so the
    two never drift apart. Expects the staged columns of raw_crm.partners plus is_corrected and
    extract_date. -#}
{% macro partner_attributes() -%}
partner_id,
partner_name,
lower(partner_type) as partner_type,
lower(tier) as tier,
upper(region) as region,
upper(country) as country_code,
lower(segment) as customer_segment,
joined_date,
lower(status) as status,
nullif(parent_partner_id, '') as parent_partner_id,
employee_count,
is_corrected,
extract_date
{%- endmacro %}
