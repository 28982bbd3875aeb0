{#- Learning-management records: enrolments, completions, passes and fails. One row per record_id: see stage_entity for dedup, blocks, corrections.
    Incremental: a run restages only the records of changed batches and corrections
    (see stage_entity_incremental), a record left without a current row is deleted. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='record_id',
    scope_marker='loaded_at',
    on_schema_change='fail',
) }}
{%- set columns = [
        ['record_id', 'varchar'],
        ['learner_id', 'varchar'],
        ['partner_id', 'varchar'],
        ['course_id', 'varchar'],
        ['course_name', 'varchar'],
        ['course_kind', 'varchar'],
        ['verb', 'varchar'],
        ['score', 'double'],
        ['occurred_at', 'timestamp'],
        ['certification_expires_date', 'date'],
] -%}

with

staged as (
    {{ stage_entity_incremental(
        'lms', 'learning_records', 'record_id', columns, append_only=true
    ) | indent(4) }}
),

final as (
    select
        record_id,
        learner_id,
        partner_id,
        course_id,
        course_name,
        lower(course_kind) as course_kind,
        lower(verb) as verb,
        score,
        occurred_at,
        cast(occurred_at as date) as occurred_date,
        certification_expires_date,
        is_corrected,
        extract_date,
        batch_id,
        loaded_at
    from staged
)

select * from final
