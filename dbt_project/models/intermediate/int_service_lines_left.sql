-- Labor lines crosswalk made (keyed "[TE #<id>]") that stayed on a call not yet invoiced
-- after their time entry moved to another ticket (a ticket merged into another, time
-- re-booked) or to something that is not a ticket: they come off that call, as a line of
-- time no longer billable does (line_change 'remove'), and the entry goes on its new
-- ticket's call. A line on an invoiced call stays: its hours were billed there, once
-- (int_service_time_planned's billed_on_ticket_id). Columns as int_service_time_planned's,
-- so that the push reads the lines to correct from both alike.

{{ config(materialized='table') }}  {#- the push and service_call_sync read it #}

with

calls as (
    select * from {{ ref('stg_eautomate__calls') }}
    where ticket_id is not null and status_code not in ('Canceled', 'Invoiced')
),

entries as (
    select * from {{ ref('stg_connectwise__time_entries') }}
),

selected as (
    select ticket_id from {{ ref('int_service_tickets_selected') }}
),

final as (
    select
        calls.ticket_id,
        labors.time_entry_id,
        labors.call_number as erp_call_number,
        labors.labor_hours as erp_hours,
        labors.technician_number as erp_technician_number,
        labors.activity_code,
        labors.remarks,
        labors.dispatched_at as started_at,
        0.00::decimal(18, 2) as labor_hours,
        'remove' as line_change,
        entries.charge_to_type as moved_to_type,
        entries.charge_to_id as moved_to_id
    from {{ ref('stg_eautomate__call_labors') }} as labors
    inner join calls on labors.call_number = calls.call_number
    inner join selected on calls.ticket_id = selected.ticket_id
    inner join entries on labors.time_entry_id = entries.time_entry_id
    where entries.charge_to_type not in ('ServiceTicket', 'ProjectTicket')
        or entries.charge_to_id <> calls.ticket_id
)

select * from final
