{% macro changed_period_scope(current_fingerprints) -%}
    {#- The periods a period-incremental model (re)computes, from a relation of
        (period_grain, period_start, period_fingerprint): every period in a full build; in an
        incremental run those whose fingerprint changed, appeared or vanished against the rows
        stored in {{ this }}. A vanished period comes with a null fingerprint: the model writes
        it a tombstone, and the replace_scope strategy deletes its rows. -#}
    {%- if is_incremental() %}
        select
            coalesce(current_periods.period_grain, stored_periods.period_grain) as period_grain,
            coalesce(current_periods.period_start, stored_periods.period_start) as period_start,
            current_periods.period_fingerprint
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
        where current_periods.period_fingerprint
            is distinct from stored_periods.period_fingerprint
    {%- else %}
        select * from {{ current_fingerprints }}
    {%- endif %}
{%- endmacro %}
