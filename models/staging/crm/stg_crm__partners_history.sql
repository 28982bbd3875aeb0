{#- Partner attributes as each CRM extract reported them: one row per partner per extract
    (raw_crm.partners is a snapshot entity, every monthly extract restates every partner).
    Rows of unreleased blocked batches are dropped; within one extract the latest source row wins;
    partner-ops corrections (latest per partner and column) apply to every extract of the partner,
    as they do to stg_crm__partners, so history and current row never disagree on a corrected value.
    valid_from_date / valid_to_date (exclusive) give the interval each row describes: from its
    extract to the partner's next extract. The first extract of a partner has no valid_from_date:
    it also stands for the time before the first extract we hold. -#}
{%- set columns = [
        ['partner_name', 'varchar'],
        ['partner_type', 'varchar'],
        ['tier', 'varchar'],
        ['region', 'varchar'],
        ['country', 'varchar'],
        ['segment', 'varchar'],
        ['joined_date', 'date'],
        ['status', 'varchar'],
        ['parent_partner_id', 'varchar'],
        ['employee_count', 'bigint'],
] -%}

with

raw_partners as (
    select * from {{ source('raw_crm', 'partners') }}
),

raw_corrections as (
    select * from {{ source('raw_meta', 'corrections') }}
),

extract_rows as (
    select
        *,
        row_number() over (
            partition by partner_id, _extract_date
            order by _source_row desc, _loaded_at desc
        ) as row_rank
    from raw_partners
    where {{ not_blocked('raw_partners._batch_id') }}
        and partner_id is not null
),

ranked_corrections as (
    select
        record_key,
        column_name,
        corrected_value,
        row_number() over (
            partition by record_key, column_name
            order by submitted_at desc, correction_id desc
        ) as correction_rank
    from raw_corrections
    where source = 'crm'
        and entity = 'partners'
),

latest_corrections as (
    select
        record_key,
        column_name,
        corrected_value
    from ranked_corrections
    where correction_rank = 1
),

corrections as (
    select
        {%- for column in columns %}
            max(case when column_name = '{{ column[0] }}' then 1 else 0 end)
                as has_{{ column[0] }},
            max(case when column_name = '{{ column[0] }}' then corrected_value end)
                as {{ column[0] }},
        {%- endfor %}
        record_key
    from latest_corrections
    group by record_key
),

corrected as (
    select
        extract_rows.partner_id,
        {%- for column in columns %}
            case
                when corrections.has_{{ column[0] }} = 1
                    then {{ dbt.safe_cast('corrections.' ~ column[0], column[1]) }}
                else extract_rows.{{ column[0] }}
            end as {{ column[0] }},
        {%- endfor %}
        corrections.record_key is not null as is_corrected,
        extract_rows._extract_date as extract_date,
        extract_rows._batch_id as batch_id
    from extract_rows
    left join corrections
        on corrections.record_key = extract_rows.partner_id
    where extract_rows.row_rank = 1
),

final as (
    select
        {{ partner_attributes() | indent(8) }},
        case
            when row_number() over (partition by partner_id order by extract_date) > 1
                then extract_date
        end as valid_from_date,
        lead(extract_date) over (partition by partner_id order by extract_date) as valid_to_date,
        batch_id
    from corrected
)

select * from final
