{% macro changed_period_scope(current_fingerprints, through_later_periods=false) -%}
    {#- The periods a period-incremental model (re)computes, from a relation of
        (period_grain, period_start, period_fingerprint): every period in a full build; in an
        incremental run those whose fingerprint changed, appeared or vanished against the rows
        stored in {{ this }}. A vanished period comes with a null fingerprint: the model writes
        it a tombstone, and the replace_scope strategy deletes its rows.
        through_later_periods: also every later period of a grain from its earliest changed
        one, for models whose periods depend on the periods before them (changes since the
        previous period, trends, band hysteresis). -#}
    {%- if is_incremental() %}
        with compared_periods as (
            select
                coalesce(current_periods.period_grain, stored_periods.period_grain)
                    as period_grain,
                coalesce(current_periods.period_start, stored_periods.period_start)
                    as period_start,
                current_periods.period_fingerprint,
                current_periods.period_fingerprint
                is distinct from stored_periods.period_fingerprint as is_changed
            from {{ current_fingerprints }} as current_periods
            full outer join (
                select distinct
                    period_grain,
                    period_start,
                    period_fingerprint
                from {{ this }}
            ) as stored_periods
                on current_periods.period_grain = stored_periods.period_grain
                and current_periods.period_start = stored_periods.period_start
        )
        {%- if through_later_periods %},

        earliest_changes as (
            select
                period_grain,
                min(period_start) as period_start
            from compared_periods
            where is_changed
            group by period_grain
        )

        select
            compared_periods.period_grain,
            compared_periods.period_start,
            compared_periods.period_fingerprint
        from compared_periods
        inner join earliest_changes
            on earliest_changes.period_grain = compared_periods.period_grain
            and compared_periods.period_start >= earliest_changes.period_start
        {%- else %}

        select
            period_grain,
            period_start,
            period_fingerprint
        from compared_periods
        where is_changed
        {%- endif %}
    {%- else %}
        select * from {{ current_fingerprints }}
    {%- endif %}
{%- endmacro %}

{% macro settings_fingerprint(seeds) -%}
    {#- One fingerprint of what applies to every period of a model: the given seed columns
        ({relation: [column, ...]}) and the model's own SQL, as a scalar. -#}
    (
        {{ row_fingerprint(["'" ~ model.checksum.checksum ~ "'"]) }}
        {%- for relation, columns in seeds.items() %}
        + (select coalesce(sum({{ row_fingerprint(columns) }}), 0) from {{ relation }})
        {%- endfor %}
    )
{%- endmacro %}

{% macro period_fingerprints_of(relation) -%}
    {#- The stored period fingerprints of an upstream period-incremental model. -#}
    select distinct
        period_grain,
        period_start,
        period_fingerprint
    from {{ relation }}
{%- endmacro %}
