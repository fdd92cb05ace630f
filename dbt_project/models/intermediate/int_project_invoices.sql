-- Each PSA project invoice (ID522) and what of it goes to the ERP. The time it bills goes
-- as labor lines on a call per project ticket and invoice (the call's PONumber is the
-- invoice number); on a fixed-fee project the invoice's amount goes too, as one line of
-- flows.service_sync.fixed_fee_item, on the call of the first ticket whose time it bills
-- (billed by phase: each phase's invoice; on completion: the project's), one with no time
-- waiting for a technician first, so that the fee goes as soon as it can. A down payment
-- never syncs (as with the incumbent, it is entered in e-automate by hand): skipped, with
-- that reason. A fixed-fee invoice billing no time of a ticket that syncs has no call to go
-- on: it waits, with the reason.
{{ config(materialized='table') }}  {#- the push reads it per call made #}

with

invoices as (
    select * from {{ ref('stg_connectwise__invoices') }}
),

phases as (
    select * from {{ ref('stg_connectwise__project_phases') }}
),

projects as (
    select * from {{ ref('stg_connectwise__projects') }}
),

project_invoices as (
    select
        invoices.*,
        coalesce(
            invoices.phase_id,
            case when invoices.apply_to_type = 'ProjectPhase' then invoices.apply_to_id end
        ) as billed_phase_id,
        coalesce(
            invoices.project_id,
            case when invoices.apply_to_type = 'Project' then invoices.apply_to_id end,
            phases.project_id
        ) as billed_project_id
    from invoices
    left join phases
        on invoices.apply_to_type = 'ProjectPhase' and invoices.apply_to_id = phases.phase_id
    where invoices.project_id is not null or invoices.apply_to_type in ('Project', 'ProjectPhase')
),

selected as (
    select ticket_id from {{ ref('int_service_tickets_selected') }}
    where is_project and skip_code is null
),

planned as (
    select * from {{ ref('int_service_time_planned') }}
    where is_project
),

-- Project tickets with time waiting for a technician (the whole ticket waits).
waiting_tickets as (
    select distinct ticket_id from planned where waiting_code is not null
),

time_billed as (
    select
        planned.invoice_id,
        count(*) as time_entries,
        sum(planned.labor_hours) as billed_hours,
        coalesce(
            min(planned.ticket_id)
                filter (where selected.ticket_id is not null and waiting.ticket_id is null),
            min(planned.ticket_id) filter (where selected.ticket_id is not null)
        ) as carrier_ticket_id
    from planned
    left join selected on planned.ticket_id = selected.ticket_id
    left join waiting_tickets as waiting on planned.ticket_id = waiting.ticket_id
    where planned.goes_to_erp
    group by planned.invoice_id
),

final as (
    select
        project_invoices.invoice_id,
        coalesce(project_invoices.invoice_number, cast(project_invoices.invoice_id as varchar))
            as invoice_number,
        project_invoices.invoice_type,
        project_invoices.invoice_date,
        project_invoices.apply_to_type,
        project_invoices.billed_project_id as project_id,
        projects.project_name,
        project_invoices.billed_phase_id as phase_id,
        phases.phase_name,
        coalesce(projects.is_fixed_fee, false) as is_fixed_fee,
        project_invoices.subtotal as invoice_amount,
        coalesce(time_billed.time_entries, 0) as time_entries,
        coalesce(time_billed.billed_hours, 0) as billed_hours,
        time_billed.carrier_ticket_id,
        case
            when project_invoices.invoice_type <> 'DownPayment' and projects.is_fixed_fee
                then project_invoices.subtotal
        end as fee_amount,
        case when project_invoices.invoice_type = 'DownPayment' then 'invoice-down-payment' end
            as skip_code,
        case
            when project_invoices.invoice_type <> 'DownPayment' and projects.is_fixed_fee
                and time_billed.carrier_ticket_id is null
                then 'fixed-fee-invoice-without-time'
        end as waiting_code
    from project_invoices
    left join projects on project_invoices.billed_project_id = projects.project_id
    left join phases on project_invoices.billed_phase_id = phases.phase_id
    left join time_billed on project_invoices.invoice_id = time_billed.invoice_id
)

select * from final
