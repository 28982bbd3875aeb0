{#- One row per partner per month per load batch of staged portal events: how many events the
    batch holds there and a fingerprint of them (sum of a hash per event). Summed over batches it
    is the partner-month's event fingerprint that int_partner_metric_facts_monthly compares with
    its stored one, without hashing all staged events on every run.
    Incremental by batch: staged rows are raw rows of their batch (a batch is immutable: a
    re-delivered extract loads under a new batch id) plus partner-ops corrections, so a batch's
    rows change only when it appears (new day, re-delivery, released block), vanishes (blocked,
    replaced), gains or loses keys to another batch (dedup), or holds corrected rows. The first
    four change the batch's event count or key fingerprint (one hash per event id, the cheap
    part of the check); corrected batches are redone on every run, now and once after their
    last correction (corrections are few; staging restages them on every run too). A batch with
    no staged events left keeps one tombstone row (null partner_id), which replace_scope deletes.
    Rows with no partner or no date give no facts and are left out. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key=['batch_id'],
    scope_marker='partner_id',
    on_schema_change='fail',
) }}

{%- set staged_events_sql -%}
    select
        partner_id,
        cast({{ dbt.date_trunc('month', 'occurred_date') }} as date) as activity_month,
        {# a sentinel for a null batch id, so the batch stays a key the strategy can replace -#}
        coalesce(batch_id, '') as batch_id,
        extract_date,
        event_id,
        user_id,
        event_type,
        occurred_date,
        is_corrected
    from {{ ref('stg_portal__activity_events') }}
    where partner_id is not null and occurred_date is not null
{%- endset %}

with

activity_events as (
    {{ staged_events_sql }}
),

{%- if is_incremental() %}
    {#- The batches to redo are found first, in a query of their own: their ids and extract-date
        range go into the scan below as constants, so DuckDB skips the row groups of every other
        batch instead of joining all staged events with the list. -#}
    {%- set changed_batches_sql %}
        with

        activity_events as (
            {{ staged_events_sql }}
        ),

        current_batches as (
            select
                batch_id,
                count(*) as event_count,
                sum({{ row_fingerprint(['event_id']) }}) as key_fingerprint,
                sum(case when is_corrected then 1 else 0 end) as corrected_count,
                min(extract_date) as extract_date
            from activity_events
            group by batch_id
        ),

        stored_batches as (
            select
                batch_id,
                sum(event_count) as event_count,
                sum(key_fingerprint) as key_fingerprint,
                sum(corrected_count) as corrected_count
            from {{ this }}
            group by batch_id
        )

        select
            coalesce(current_batches.batch_id, stored_batches.batch_id) as batch_id,
            current_batches.batch_id is not null as is_current,
            cast(current_batches.extract_date as {{ dbt.type_string() }}) as extract_date
        from current_batches
        full outer join stored_batches
            on current_batches.batch_id = stored_batches.batch_id
        where current_batches.event_count is distinct from stored_batches.event_count
            or current_batches.key_fingerprint is distinct from stored_batches.key_fingerprint
            or coalesce(current_batches.corrected_count, 0) > 0
            or coalesce(stored_batches.corrected_count, 0) > 0
        order by 1
    {%- endset %}
    {%- set changed = [] %}
    {%- if execute %}
        {%- for row in run_query(changed_batches_sql).rows %}
            {%- do changed.append({
                'batch_id': "'" ~ (row[0] | replace("'", "''")) ~ "'",
                'is_current': row[1],
                'extract_date': row[2],
            }) %}
        {%- endfor %}
    {%- endif %}
    {%- set current = changed | selectattr('is_current') | list %}
    {%- set dates = current | map(attribute='extract_date') | list %}

    scoped_events as (
        select *
        from activity_events
        {%- if current %}
        where batch_id in ({{ current | map(attribute='batch_id') | join(', ') }})
            {%- if none not in dates %}
            and extract_date >= cast('{{ dates | min }}' as date)
            and extract_date <= cast('{{ dates | max }}' as date)
            {%- endif %}
        {%- else %}
        where false
        {%- endif %}
    ),

    vanished_batches as (
        {#- batches with no staged events left: one tombstone each -#}
        {%- set vanished = changed | rejectattr('is_current') | list %}
        select batch_id
        from (
            values {% for batch in vanished or [{'batch_id': 'null'}] -%}
                ({{ batch.batch_id }}){{ ', ' if not loop.last }}
            {%- endfor %}
        ) as vanished (batch_id)
        where batch_id is not null
    ),
{%- else %}

    scoped_events as (
        select * from activity_events
    ),
{%- endif %}

fingerprints as (
    select
        partner_id,
        activity_month,
        batch_id,
        count(*) as event_count,
        sum({{ row_fingerprint(['event_id']) }}) as key_fingerprint,
        sum(case when is_corrected then 1 else 0 end) as corrected_count,
        sum({{ row_fingerprint(
            ['event_id', 'user_id', 'event_type', 'occurred_date', 'is_corrected']
        ) }}) as events_fingerprint
    from scoped_events
    group by partner_id, activity_month, batch_id
),

final as (
    select * from fingerprints
    {%- if is_incremental() %}
    {#- tombstones: batches that have no staged events any more #}
    union all
    select
        cast(null as {{ dbt.type_string() }}) as partner_id,
        cast(null as date) as activity_month,
        cast(batch_id as {{ dbt.type_string() }}) as batch_id,
        0 as event_count,
        0 as key_fingerprint,
        0 as corrected_count,
        0 as events_fingerprint
    from vanished_batches
    {%- endif %}
)

select * from final
