-- What the service sync does per ticket (its push reads this): make its call with a labor
-- line per time entry; add the time entries not yet on its open call (and close it once the
-- ticket is closed), and correct the lines whose time entry changed in the PSA since, on
-- calls not yet invoiced (a line whose time entry moved off the ticket or was deleted
-- comes off);
-- carry new time on a follow-up call when its call is already Invoiced
-- (final); nothing when the ERP holds it all; wait, with the reason, for a mapping or a
-- technician, or for a person to cancel the open call of a ticket that moved to another
-- customer; skip a ticket without time or excluded. A ticket's calls are found by the key that opens
-- their description, "[CW #<ticket id>]": the incumbent's calls are adopted, never doubled.
-- A project ticket's time goes by invoice: time a later invoice bills goes on a new call
-- (create-call), never onto a call made before.
{%- set call_status = service_sync_setting('call_status', 'OKToInvoice') %}
{%- set to_psa = service_sync_setting('to_psa', {}) %}
{%- set sent_hold = to_psa.get('sent_hold_code') if to_psa.get('call_types') else none %}

with

tickets as (
    select * from {{ ref('int_service_tickets_mapped') }}
),

time_planned as (
    select * from {{ ref('int_service_time_planned') }}
),

-- Lines left on a call of the ticket, not yet invoiced, after their time entry moved off
-- it or was deleted.
lines_left as (
    select ticket_id, count(*) as lines
    from {{ ref('int_service_lines_left') }}
    where line_change = 'remove'
    group by ticket_id
),

calls as (
    select * from {{ ref('stg_eautomate__calls') }}
    where ticket_id is not null and status_code <> 'Canceled'
),

-- The call new time goes on: the ticket's latest call not yet invoiced.
open_calls as (
    select ticket_id, max_by(call_number, try_cast(call_number as bigint)) as call_number
    from calls
    where status_code <> 'Invoiced'
    group by ticket_id
),

ticket_calls as (
    select
        ticket_id,
        list(call_number order by try_cast(call_number as bigint)) as call_numbers,
        max_by(call_number, try_cast(call_number as bigint)) as latest_call_number,
        bool_or(status_code = 'Invoiced') as has_invoiced_call
    from calls
    group by ticket_id
),

time_summary as (
    select
        ticket_id,
        count(*) filter (where goes_to_erp and erp_call_number is null) as new_entries,
        count(*) filter (where goes_to_erp and erp_call_number is null
            and waiting_code is not null) as waiting_entries,
        sum(labor_hours) filter (where goes_to_erp and erp_call_number is null) as new_hours,
        sum(labor_hours) filter (where goes_to_erp) as psa_hours,
        coalesce(sum(erp_hours), 0) as erp_hours,
        min(waiting_code) as time_waiting_code,
        -- lines whose time entry changed since: corrected on calls not yet invoiced
        count(*) filter (where line_change in ('correct', 'remove')) as lines_to_correct
    from time_planned
    group by ticket_id
),

decided as (
    select
        tickets.* exclude (waiting_code),
        open_calls.call_number as open_call_number,
        open_call.status_code as open_call_status,
        open_call.close_date as open_call_close_date,
        open_call.hold_code as open_call_hold_code,
        open_call.contract_number as open_call_contract_number,
        open_call.customer_number as open_call_customer_number,
        coalesce(time_summary.lines_to_correct, 0) + coalesce(lines_left.lines, 0)
            as lines_to_correct,
        -- The ticket moved (by an operator, or its company changed) after its call was made.
        coalesce(upper(open_call.customer_number) <> upper(tickets.call_customer_number), false)
            as is_customer_changed,
        ticket_calls.call_numbers,
        ticket_calls.latest_call_number,
        coalesce(ticket_calls.has_invoiced_call, false) as has_invoiced_call,
        coalesce(time_summary.new_entries, 0) as new_entries,
        coalesce(time_summary.new_hours, 0) as new_hours,
        coalesce(time_summary.psa_hours, 0) as psa_hours,
        coalesce(time_summary.erp_hours, 0) as erp_hours,
        -- A closed ticket closes its call: the configured status and the close date, and
        -- a call worked in the PSA leaves the hold that marked it sent (to_psa).
        open_calls.call_number is not null and tickets.is_closed and not tickets.is_project
            and (open_call.close_date is null
                {%- if sent_hold %}
                or coalesce(upper(open_call.hold_code) = upper({{ quoted(sent_hold) }}), false)
                {%- endif %}
                {%- if call_status == 'OKToInvoice' %}
                or open_call.status_code not in ('OKToInvoice', 'Complete', 'Cleared')
                {%- endif %}) as is_close_stale,
        coalesce(
            tickets.waiting_code,
            case when upper(open_call.customer_number) <> upper(tickets.call_customer_number)
                then 'ticket-customer-changed' end,
            time_summary.time_waiting_code
        ) as waiting_code
    from tickets
    left join open_calls on tickets.ticket_id = open_calls.ticket_id
    left join calls as open_call on open_calls.call_number = open_call.call_number
    left join ticket_calls on tickets.ticket_id = ticket_calls.ticket_id
    left join time_summary on tickets.ticket_id = time_summary.ticket_id
    left join lines_left on tickets.ticket_id = lines_left.ticket_id
),

final as (
    select
        * replace (
            coalesce(skip_code, case when latest_call_number is null and new_entries = 0
                and waiting_code is null then 'ticket-without-billable-time' end) as skip_code
        ),
        case
            when skip_code is not null then 'skipped'
            when is_customer_changed then 'waiting'
            when waiting_code is not null
                and (new_entries > 0 or latest_call_number is null) then 'waiting'
            when new_entries > 0 and is_project then 'create-call'
            when new_entries > 0 and open_call_number is not null then 'update-call'
            when new_entries > 0 and has_invoiced_call then 'follow-up-call'
            when new_entries > 0 then 'create-call'
            when is_close_stale or lines_to_correct > 0 then 'update-call'
            when latest_call_number is null and new_entries = 0 then 'skipped'
            else 'in-sync'
        end as action,
        {{ quoted(call_status) }} as call_status,
        coalesce(external_x_ref, '') <> coalesce(latest_call_number, '')
            and latest_call_number is not null as is_xref_stale
    from decided
)

select * from final
