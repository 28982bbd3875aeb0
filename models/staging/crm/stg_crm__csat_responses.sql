{#- Customer satisfaction survey responses from customers a partner served. One row per response_id: see stage_entity for dedup, blocks, corrections. -#}
{%- set columns = [
        ['response_id', 'varchar'],
        ['partner_id', 'varchar'],
        ['customer_id', 'varchar'],
        ['survey_type', 'varchar'],
        ['score', 'double'],
        ['responded_at', 'timestamp'],
] -%}

with

staged as (
    {{ stage_entity(
        'crm', 'csat_responses', 'response_id', columns, append_only=true
    ) | indent(4) }}
),

final as (
    select
        response_id,
        partner_id,
        customer_id,
        lower(survey_type) as survey_type,
        score,
        {#- CSAT 1-5 maps linearly to 0-100 ((score - 1) * 25); NPS 0-10 to 0-100 (score * 10). -#}
        case
            when lower(survey_type) = 'csat' and score between 1 and 5 then (score - 1) * 25.0
            when lower(survey_type) = 'nps' and score between 0 and 10 then score * 10.0
        end as satisfaction_score,
        responded_at,
        cast(responded_at as date) as responded_date,
        is_corrected,
        extract_date,
        batch_id,
        loaded_at
    from staged
)

select * from final
