{#- Data tests of incremental models read only the rows rewritten since their last passing run.

    A replace_scope model rewrites whole scopes (periods, partner-months, keys); rows outside
    them are the rows its tests already passed. So a row-local test (not_null, accepted_values,
    within_range) or a uniqueness test over columns that include the unique_key can only find a
    new failure in a rewritten scope; so can a test whose failures are each one scope of the
    model, reading the other relations it joins for the same scopes (the explanations adding up
    to a score).
    Bookkeeping, in schema dbt_meta:
    - rewritten_keys(model, key_value): the scopes the strategy rewrote, kept until the model's
      tests all pass in one run, so a failure keeps failing until it is fixed;
    - tested_models(model): the models whose whole table passed its tests once since their
      last full build. Without that mark (first build, --full-refresh) tests read every row. -#}

{% macro tested_scope_key(keys, alias=none) -%}
    {#- one comparable string per scope: the unique_key values joined -#}
    concat_ws('|'
    {%- for key in keys %}, cast({{ alias ~ '.' if alias }}{{ key }} as {{ dbt.type_string() }})
    {%- endfor %})
{%- endmacro %}

{% macro create_tested_scope_tables() -%}
    create schema if not exists dbt_meta;
    create table if not exists dbt_meta.rewritten_keys (
        model {{ dbt.type_string() }},
        key_value {{ dbt.type_string() }}
    );
    create table if not exists dbt_meta.tested_models (model {{ dbt.type_string() }});
{%- endmacro %}

{% macro record_rewritten_keys(target, source, keys) -%}
    {#- called by the replace_scope strategy, in the model's transaction -#}
    insert into dbt_meta.rewritten_keys
    select distinct
        '{{ target.identifier }}' as model,
        {{ tested_scope_key(keys) }} as key_value
    from {{ source }};
{%- endmacro %}

{% macro forget_tested_rows() -%}
    {#- pre-hook: a full build of an incremental model must be tested whole -#}
    {%- if model.config.materialized == 'incremental' and not is_incremental() %}
        delete from dbt_meta.tested_models where model = '{{ this.identifier }}';
        delete from dbt_meta.rewritten_keys where model = '{{ this.identifier }}';
    {%- endif %}
{%- endmacro %}

{% macro mark_tested_models(results) -%}
    {#- on-run-end: a model whose every attached test ran in this invocation and none failed or
        errored has been tested up to its current rows -#}
    {%- if execute %}
        {%- set status_by_node = {} %}
        {%- for result in results %}
            {%- do status_by_node.update({result.node.unique_id: result.status}) %}
        {%- endfor %}
        {%- set statuses_by_model = {} %}
        {%- for test in graph.nodes.values()
            if test.resource_type == 'test' and test.attached_node %}
            {%- do statuses_by_model.setdefault(test.attached_node, []).append(
                status_by_node.get(test.unique_id, 'not run')) %}
        {%- endfor %}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'model' and node.config.materialized == 'incremental' %}
            {%- set statuses = statuses_by_model.get(node.unique_id, []) %}
            {%- if not statuses %}
                delete from dbt_meta.rewritten_keys where model = '{{ node.alias }}';
            {%- elif statuses | reject('in', ['pass', 'warn']) | list | length == 0 %}
                delete from dbt_meta.rewritten_keys where model = '{{ node.alias }}';
                delete from dbt_meta.tested_models where model = '{{ node.alias }}';
                insert into dbt_meta.tested_models values ('{{ node.alias }}');
            {%- endif %}
        {%- endfor %}
    {%- endif %}
{%- endmacro %}

{% macro default__get_where_subquery(relation) -%}
    {#- dbt's test relation (with the test's `where` config), narrowed to the rewritten scopes
        when the test is one that can only fail there (see the top of this file) -#}
    {%- set where = config.get('where', '') -%}
    {%- set scope = tested_scope_filter(relation) if execute else '' -%}
    {%- set conditions = [where, scope] | select | list -%}
    {%- if conditions %}
        {%- do return('(select * from ' ~ relation ~ ' where ('
            ~ conditions | join(') and (') ~ ')) dbt_subquery') %}
    {%- else %}
        {%- do return(relation) %}
    {%- endif %}
{%- endmacro %}

{% macro tested_scope_filter(relation) -%}
    {%- set tested = graph.nodes.get(model.attached_node) if model.attached_node else none -%}
    {%- if not tested or tested.config.materialized != 'incremental'
        or tested.config.incremental_strategy != 'replace_scope' -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set keys = tested.config.unique_key -%}
    {%- set keys = [keys] if keys is string else keys -%}
    {%- set test = model.test_metadata or {} -%}
    {%- set kwargs = test.get('kwargs', {}) -%}
    {%- set columns = kwargs.get('columns') or [kwargs.get('column_name')] -%}
    {%- set row_local = test.get('name') in ['not_null', 'accepted_values', 'within_range'] -%}
    {%- set keyed = test.get('name') in ['unique', 'unique_combination']
        and keys | reject('in', columns) | list | length == 0 -%}
    {#- tests whose every failure is one scope of the model, and which read the other relations
        for the model's scopes only (macros/test_explanations_add_up.sql) -#}
    {%- set scope_local = test.get('name') in [
        'contributions_sum_to_score', 'changes_sum_to_score_change'] -%}
    {%- if not (row_local or keyed or scope_local) -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set name = tested.alias -%}
    {%- set by_subquery = (
        "not exists (select 1 from dbt_meta.tested_models where model = '" ~ name ~ "') or "
        ~ tested_scope_key(keys) ~ " in (select key_value from dbt_meta.rewritten_keys "
        ~ "where model = '" ~ name ~ "')"
    ) -%}
    {%- if not adapter.get_relation(target.database, 'dbt_meta', 'tested_models') -%}
        {%- do return(by_subquery) -%}
    {%- endif -%}
    {#- The test compiles after its model ran, so the rewritten scopes are known: a few of them
        become literal predicates on the key columns, which DuckDB evaluates on typed columns
        instead of building a text key for every row (0.5 s per test at scale L). Many keys, or
        keys that do not split back into their columns, keep the subquery. -#}
    {%- set marks = run_query(
        "select (select count(*) from dbt_meta.tested_models where model = '" ~ name ~ "'), "
        ~ "(select count(*) from dbt_meta.rewritten_keys where model = '" ~ name ~ "')"
    ).rows[0] -%}
    {%- if marks[0] == 0 -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- if marks[1] == 0 -%}
        {%- do return('false') -%}
    {%- endif -%}
    {%- if marks[1] > 100 -%}
        {%- do return(by_subquery) -%}
    {%- endif -%}
    {%- set predicates = [] -%}
    {%- for row in run_query(
        "select distinct key_value from dbt_meta.rewritten_keys where model = '" ~ name ~ "'"
    ).rows -%}
        {%- set parts = row[0].split('|') if keys | length > 1 else [row[0]] -%}
        {%- if parts | length != keys | length or '' in parts -%}
            {%- do return(by_subquery) -%}
        {%- endif -%}
        {%- set equalities = [] -%}
        {%- for key in keys -%}
            {%- do equalities.append(
                key ~ " = '" ~ parts[loop.index0] | replace("'", "''") ~ "'") -%}
        {%- endfor -%}
        {%- do predicates.append('(' ~ equalities | join(' and ') ~ ')') -%}
    {%- endfor -%}
    {%- do return(predicates | join(' or ')) -%}
{%- endmacro %}
