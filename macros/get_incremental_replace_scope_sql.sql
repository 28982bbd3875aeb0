{% macro get_incremental_replace_scope_sql(arg_dict) -%}
    {#- Custom incremental strategy `replace_scope`: the model's rows name the scope to rebuild.
        Every unique_key value present in the new rows is deleted from the target, then the new
        rows are inserted except tombstones: rows whose config `scope_marker` column is null only
        mark a key whose rows must go (delete+insert alone cannot remove a key that has no row
        any more, e.g. an event of a batch that was blocked or re-delivered without it). -#}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set unique_key = arg_dict['unique_key'] -%}
    {%- set marker = config.get('scope_marker') -%}
    {%- if not unique_key or not marker -%}
        {{ exceptions.raise_compiler_error(
            "incremental_strategy 'replace_scope' needs unique_key and scope_marker configs") }}
    {%- endif -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set dest_cols_csv = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- if execute -%}
        {#- what the run rewrites, for the dbt log (the adapter reports no row counts) -#}
        {%- set counts = run_query(
            'select count(*), count(' ~ marker ~ ') from ' ~ source
        ).rows[0] -%}
        {{ log('replace_scope ' ~ target.identifier ~ ': ' ~ counts[0] ~ ' rows in scope, '
            ~ counts[1] ~ ' rows inserted', info=True) }}
    {%- endif -%}
    delete from {{ target }} as replaced
    where exists (
        select 1
        from {{ source }} as scope
        where
            {%- for key in keys %}
            scope.{{ key }} = replaced.{{ key }}{{ " and" if not loop.last }}
            {%- endfor %}
    );

    insert into {{ target }} ({{ dest_cols_csv }})
    select {{ dest_cols_csv }}
    from {{ source }}
    where {{ marker }} is not null;

    {{ record_rewritten_keys(target, source, keys) }}
{%- endmacro %}
