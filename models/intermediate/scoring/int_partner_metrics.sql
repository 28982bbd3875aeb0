{#- One row per partner per period per catalog metric: the raw value over the metric's trailing
    window (window_months ending with the period's last month; quarters use at least 3 months).
    Volumes are the summed numerator (0 without activity); ratios are numerator / denominator and
    null (missing) when the denominator is below the catalog's min_denominator (at least 1).
    active_certifications counts distinct learner-course certifications passed on or before the
    period end and not expired at the period end.
    Size basis (catalog size_basis): a metric with base_metric set reuses that metric's facts;
    per_employee divides the raw value by the partner's capacity = its CRM employee_count as of the
    period (int_partner_periods) when positive, else the median positive employee_count of its
    partner type among partners scored in the period, else the median over all partners scored in
    the period, else 1. -#}

with

partner_periods as (
    select * from {{ ref('int_partner_periods') }}
),

catalog as (
    select * from {{ ref('scoring_metric_catalog') }}
),

facts as (
    select * from {{ ref('int_partner_metric_facts_monthly') }}
),

learning_records as (
    select * from {{ ref('stg_lms__learning_records') }}
),

partner_employees as (
    select
        partner_id,
        partner_type,
        period_grain,
        period_start,
        case when employee_count > 0 then employee_count end as employee_count
    from partner_periods
),

partner_capacity as (
    select
        partner_id,
        period_grain,
        period_start,
        cast(coalesce(
            employee_count,
            median(employee_count) over (
                partition by period_grain, period_start, partner_type
            ),
            median(employee_count) over (partition by period_grain, period_start),
            1
        ) as {{ type_double() }}) as employee_capacity
    from partner_employees
),

metric_windows as (
    select
        partner_periods.partner_id,
        partner_periods.period_grain,
        partner_periods.period_start,
        partner_periods.period_end,
        catalog.metric_key,
        coalesce(catalog.base_metric, catalog.metric_key) as fact_metric_key,
        catalog.metric_kind,
        catalog.min_denominator,
        cast({{ dbt.dateadd(
            'month',
            '1 - case when partner_periods.period_grain = \'quarter\' and catalog.window_months < 3'
            ~ ' then 3 else catalog.window_months end',
            dbt.date_trunc('month', 'partner_periods.period_end'),
        ) }} as date) as window_start
    from partner_periods
    cross join catalog
    where coalesce(catalog.base_metric, catalog.metric_key) <> 'active_certifications'
),

windowed as (
    select
        metric_windows.partner_id,
        metric_windows.period_grain,
        metric_windows.period_start,
        metric_windows.metric_key,
        metric_windows.window_start,
        metric_windows.period_end as window_end,
        coalesce(sum(facts.numerator), 0) as numerator,
        coalesce(sum(facts.denominator), 0) as denominator,
        case
            when metric_windows.metric_kind = 'volume' then coalesce(sum(facts.numerator), 0)
            when coalesce(sum(facts.denominator), 0) >= greatest(metric_windows.min_denominator, 1)
                then sum(facts.numerator) / sum(facts.denominator)
        end as raw_value,
        coalesce(max(case when facts.has_corrections then 1 else 0 end), 0) = 1 as is_restated
    from metric_windows
    left join facts
        on facts.partner_id = metric_windows.partner_id
        and facts.metric_key = metric_windows.fact_metric_key
        and facts.activity_month >= metric_windows.window_start
        and facts.activity_month <= metric_windows.period_end
    group by
        metric_windows.partner_id,
        metric_windows.period_grain,
        metric_windows.period_start,
        metric_windows.metric_key,
        metric_windows.metric_kind,
        metric_windows.min_denominator,
        metric_windows.window_start,
        metric_windows.period_end
),

certifications as (
    select
        partner_id,
        learner_id,
        course_id,
        occurred_date as passed_date,
        certification_expires_date,
        is_corrected
    from learning_records
    where verb = 'passed' and course_kind in ('certification', 'specialization')
),

active_certifications as (
    select
        partner_periods.partner_id,
        partner_periods.period_grain,
        partner_periods.period_start,
        'active_certifications' as metric_key,
        partner_periods.period_end as window_start,
        partner_periods.period_end as window_end,
        cast(
            count(distinct certifications.learner_id || '|' || certifications.course_id)
            as {{ type_double() }}
        ) as numerator,
        cast(count(certifications.course_id) as {{ type_double() }}) as denominator,
        cast(
            count(distinct certifications.learner_id || '|' || certifications.course_id)
            as {{ type_double() }}
        ) as raw_value,
        coalesce(max(case when certifications.is_corrected then 1 else 0 end), 0) = 1
            as is_restated
    from partner_periods
    left join certifications
        on certifications.partner_id = partner_periods.partner_id
        and certifications.passed_date <= partner_periods.period_end
        and (
            certifications.certification_expires_date is null
            or certifications.certification_expires_date > partner_periods.period_end
        )
    group by
        partner_periods.partner_id,
        partner_periods.period_grain,
        partner_periods.period_start,
        partner_periods.period_end
),

certification_metrics as (
    select
        active_certifications.partner_id,
        active_certifications.period_grain,
        active_certifications.period_start,
        catalog.metric_key,
        active_certifications.window_start,
        active_certifications.window_end,
        active_certifications.numerator,
        active_certifications.denominator,
        active_certifications.raw_value,
        active_certifications.is_restated
    from active_certifications
    inner join catalog
        on coalesce(catalog.base_metric, catalog.metric_key) = 'active_certifications'
),

unsized as (
    select * from windowed
    union all
    select * from certification_metrics
),

final as (
    select
        unsized.partner_id,
        unsized.period_grain,
        unsized.period_start,
        unsized.metric_key,
        unsized.window_start,
        unsized.window_end,
        unsized.numerator,
        unsized.denominator,
        case
            when catalog.size_basis = 'per_employee'
                then unsized.raw_value / partner_capacity.employee_capacity
            else unsized.raw_value
        end as raw_value,
        unsized.is_restated
    from unsized
    inner join catalog
        on catalog.metric_key = unsized.metric_key
    left join partner_capacity
        on partner_capacity.partner_id = unsized.partner_id
        and partner_capacity.period_grain = unsized.period_grain
        and partner_capacity.period_start = unsized.period_start
)

select * from final
