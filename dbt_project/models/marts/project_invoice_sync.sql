-- The analyst's reconciliation of project billing (ID522), per PSA project invoice: the ERP
-- calls that carry it (on the project's tickets, PONumber the invoice number), the hours of
-- their labor lines for the time it bills and the fixed fee they hold, against the
-- invoice's; the difference and why. A down payment is skipped (entered in e-automate by
-- hand); a difference with no reason is a failure of the sync.
{%- set fee_item = service_sync_setting('fixed_fee_item', 'CW-FIXEDFEE') %}

with

invoices as (
    select * from {{ ref('int_project_invoices') }}
),

calls as (
    select * from {{ ref('stg_eautomate__calls') }}
    where ticket_id is not null and status_code <> 'Canceled' and po_number is not null
),

project_tickets as (
    select ticket_id, project_id from {{ ref('stg_connectwise__project_tickets') }}
),

materials as (
    select
        call_number,
        unnest(from_json(coalesce(materials_used, '[]'),
            '[{"Item": "VARCHAR", "Quantity": "VARCHAR", "Price": "VARCHAR"}]')) as line
    from calls
),

fees as (
    select
        call_number,
        sum(cast(cast(line.Quantity as decimal(18, 4)) * cast(line.Price as decimal(18, 4))
            as decimal(18, 2))) as fee_amount
    from materials
    where upper(line.Item) = upper({{ quoted(fee_item) }})
    group by call_number
),

erp as (
    select
        project_tickets.project_id,
        calls.po_number,
        list(calls.call_number order by try_cast(calls.call_number as bigint)) as call_numbers,
        sum(fees.fee_amount) as fee_amount
    from calls
    inner join project_tickets on calls.ticket_id = project_tickets.ticket_id
    left join fees on calls.call_number = fees.call_number
    group by project_tickets.project_id, calls.po_number
),

tickets as (
    select ticket_id, action, waiting_code, skip_code from {{ ref('service_call_sync') }}
),

-- The time each invoice bills, and what its tickets wait for or are about to get.
hours as (
    select
        planned.invoice_id,
        sum(planned.labor_hours) as hours_to_send,
        coalesce(sum(planned.erp_hours), 0) as erp_hours,
        min(coalesce(tickets.waiting_code, planned.waiting_code))
            filter (where tickets.action = 'waiting') as waiting_code,
        min(tickets.skip_code) filter (where tickets.action = 'skipped') as skip_code,
        bool_or(tickets.action = 'create-call') as is_to_send
    from {{ ref('int_service_time_planned') }} as planned
    left join tickets on planned.ticket_id = tickets.ticket_id
    where planned.is_project and planned.goes_to_erp
    group by planned.invoice_id
),

final as (
    select
        invoices.invoice_id,
        invoices.invoice_number,
        invoices.invoice_type,
        invoices.invoice_date,
        invoices.project_id,
        invoices.project_name,
        invoices.phase_id,
        invoices.phase_name,
        invoices.is_fixed_fee,
        invoices.invoice_amount,
        invoices.time_entries,
        coalesce(hours.hours_to_send, 0) as billed_hours,
        coalesce(hours.erp_hours, 0) as erp_hours,
        invoices.fee_amount,
        coalesce(erp.fee_amount, 0) as erp_fee_amount,
        erp.call_numbers,
        invoices.carrier_ticket_id,
        case
            when invoices.skip_code is not null then 'skipped'
            when coalesce(hours.hours_to_send, 0) = coalesce(hours.erp_hours, 0)
                and coalesce(invoices.fee_amount, 0) = coalesce(erp.fee_amount, 0) then 'in-sync'
            when invoices.waiting_code is not null or hours.waiting_code is not null
                then 'waiting'
            when hours.skip_code is not null then 'skipped'
            when hours.is_to_send then 'to-sync'
            else 'differs'
        end as state,
        case
            when invoices.skip_code is not null then invoices.skip_code
            when coalesce(hours.hours_to_send, 0) = coalesce(hours.erp_hours, 0)
                and coalesce(invoices.fee_amount, 0) = coalesce(erp.fee_amount, 0) then null
            else coalesce(invoices.waiting_code, hours.waiting_code, hours.skip_code)
        end as reason_code
    from invoices
    left join hours on invoices.invoice_id = hours.invoice_id
    left join erp
        on invoices.project_id = erp.project_id and invoices.invoice_number = erp.po_number
)

select * from final
