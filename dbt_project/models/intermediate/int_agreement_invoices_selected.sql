-- Per agreement, the PSA invoice its ERP contract follows: the latest invoice of type
-- Agreement in flows.agreement_sync.invoice_statuses (every status when the list is empty,
-- the incumbent's variable 10), of an agreement of agreement_types (every type when empty,
-- variable 2). The contract's lines are rebuilt from this invoice's period.
{%- set statuses = agreement_sync_setting('invoice_statuses', []) %}
{%- set types = agreement_sync_setting('agreement_types', []) %}

with

invoices as (
    select * from {{ ref('stg_connectwise__invoices') }}
),

agreements as (
    select * from {{ ref('stg_connectwise__agreements') }}
),

agreement_invoices as (
    select
        invoices.*,
        coalesce(
            invoices.agreement_id,
            case when invoices.apply_to_type = 'Agreement' then invoices.apply_to_id end
        ) as invoiced_agreement_id
    from invoices
    where invoices.invoice_type = 'Agreement'
),

ranked as (
    select
        agreement_invoices.* exclude (agreement_id),
        agreements.agreement_id,
        row_number() over (
            partition by agreements.agreement_id
            order by agreement_invoices.invoice_date desc, agreement_invoices.invoice_id desc
        ) as recency
    from agreement_invoices
    inner join agreements on agreement_invoices.invoiced_agreement_id = agreements.agreement_id
    where true
    {%- if statuses %}
        and agreement_invoices.billing_status in ({{ _sql_list(statuses) }})
    {%- endif %}
    {%- if types %}
        and agreements.agreement_type in ({{ _sql_list(types) }})
    {%- endif %}
)

select * exclude (recency, invoiced_agreement_id)
from ranked
where recency = 1
