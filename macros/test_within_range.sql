{% test within_range(model, column_name, min_value=none, max_value=none, round_to=none) %}
    {#- Fails with each row whose value lies outside [min_value, max_value] (either bound may be
        left out; nulls are not_null's business). round_to: compare the value rounded to that many
        decimals, as a mart publishes it (a float sum may end at 100.00000000000001). Row-local,
        so on an incremental model it reads the rewritten scopes only (macros/tested_scope.sql). -#}
    {%- set value = column_name if round_to is none else 'round(' ~ column_name ~ ', ' ~ round_to ~ ')' %}
    select {{ column_name }}
    from {{ model }}
    where
        {%- if min_value is not none %} {{ value }} < {{ min_value }}{% endif %}
        {%- if min_value is not none and max_value is not none %} or{% endif %}
        {%- if max_value is not none %} {{ value }} > {{ max_value }}{% endif %}
{% endtest %}
