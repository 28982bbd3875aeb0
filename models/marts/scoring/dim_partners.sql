{#- One row per partner: current attributes from the latest CRM extract, plus the score and band
    of the latest complete month (the month in progress is provisional; a partner scored only in
    it gets that one). -#}

with

partners as (
    select * from {{ ref('stg_crm__partners') }}
),

scores as (
    select * from {{ ref('fct_partner_scores') }}
),

latest_monthly_scores as (
    select
        partner_id,
        period_start,
        score,
        band,
        row_number() over (
            partition by partner_id order by is_period_complete desc, period_start desc
        ) as recency
    from scores
    where period_grain = 'month'
),

final as (
    select
        partners.partner_id,
        partners.partner_name,
        partners.partner_type,
        partners.tier,
        partners.region,
        partners.country_code,
        partners.customer_segment,
        partners.joined_date,
        partners.status,
        partners.parent_partner_id,
        cast(partners.employee_count as integer) as employee_count,
        partners.is_corrected,
        latest_monthly_scores.period_start as latest_scored_month,
        cast(latest_monthly_scores.score as decimal(5, 2)) as latest_score,
        latest_monthly_scores.band as latest_band
    from partners
    left join latest_monthly_scores
        on latest_monthly_scores.partner_id = partners.partner_id
        and latest_monthly_scores.recency = 1
)

select * from final
