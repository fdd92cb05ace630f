-- Labor lines crosswalk made (keyed "[TE #<id>]") whose time entry is no longer on the
-- call's ticket: it moved to another ticket (a ticket merged into another, time booked
-- again) or to something that is not a ticket, or it was deleted in the PSA
-- (int_time_entries_gone). On a call not yet invoiced the line comes off, as a line of
-- time no longer billable does (line_change 'remove'), and a moved entry goes on its new
-- ticket's call. On an invoiced call it stays ('invoiced'): its hours were billed there,
-- once (a moved entry's new ticket says so: int_service_time_planned's
-- billed_on_ticket_id). A ticket the sync no longer takes (merged into another, and so in
-- a status not synced) keeps no line either: is_ticket_selected false, the push takes
-- those off apart. Columns as int_service_time_planned's, so that the push reads the lines
-- to correct from both alike.
{{ config(materialized='table') }}  {#- the push, two marts and the findings read it #}

with

calls as (
    select * from {{ ref('stg_eautomate__calls') }}
    where ticket_id is not null and status_code <> 'Canceled'
),

entries as (
    select * from {{ ref('stg_connectwise__time_entries') }}
),

gone as (
    select * from {{ ref('int_time_entries_gone') }}
),

selected as (
    select ticket_id from {{ ref('int_service_tickets_selected') }}
),

-- A project ticket can be read from both endpoints: one row a ticket.
tickets as (
    select ticket_id, min(summary) as summary
    from (
        select ticket_id, summary from {{ ref('stg_connectwise__tickets') }}
        union all
        select ticket_id, summary from {{ ref('stg_connectwise__project_tickets') }}
    )
    group by ticket_id
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
        case when calls.status_code = 'Invoiced' then 'invoiced' else 'remove' end
            as line_change,
        gone.time_entry_id is not null as is_entry_deleted,
        selected.ticket_id is not null as is_ticket_selected,
        tickets.summary,
        case when gone.time_entry_id is null then entries.charge_to_type end as moved_to_type,
        case when gone.time_entry_id is null then entries.charge_to_id end as moved_to_id
    from {{ ref('stg_eautomate__call_labors') }} as labors
    inner join calls on labors.call_number = calls.call_number
    inner join entries on labors.time_entry_id = entries.time_entry_id
    left join selected on calls.ticket_id = selected.ticket_id
    left join tickets on calls.ticket_id = tickets.ticket_id
    left join gone on labors.time_entry_id = gone.time_entry_id
    where gone.time_entry_id is not null
        or entries.charge_to_type not in ('ServiceTicket', 'ProjectTicket')
        or entries.charge_to_id <> calls.ticket_id
)

select * from final
