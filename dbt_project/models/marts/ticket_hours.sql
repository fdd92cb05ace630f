-- The analyst's reconciliation of hours, per selected ticket: the PSA's billable hours
-- (what goes to the ERP), the hours on the ERP labor lines of its time entries, the
-- difference and why (waiting, skipped, not yet sent, a time entry changed after its call
-- was invoiced, a line left on its call by a time entry that moved to another ticket or
-- was deleted).
-- Time that is not billable is left
-- out of both sides (erp_not_billable_hours shows what the incumbent put on calls all the
-- same). A difference with no reason is a failure of the sync (finding hours-unexplained).

with

sync as (
    select * from {{ ref('service_call_sync') }}
),

time_planned as (
    select
        ticket_id,
        sum(actual_hours) filter (where is_billable) as psa_billable_hours,
        sum(actual_hours) filter (where not is_billable) as psa_non_billable_hours,
        sum(labor_hours) filter (where goes_to_erp) as hours_to_send,
        coalesce(sum(erp_hours) filter (where goes_to_erp), 0) as erp_hours,
        -- time not billable that the incumbent put on a call all the same
        coalesce(sum(erp_hours) filter (where not goes_to_erp), 0) as erp_not_billable_hours,
        sum(labor_hours) filter (where goes_to_erp and erp_call_number is null) as unsent_hours,
        count(*) filter (where line_change in ('correct', 'remove')) as lines_to_correct,
        count(*) filter (where line_change = 'invoiced') as lines_changed_after_invoice
    from {{ ref('int_service_time_planned') }}
    group by ticket_id
),

-- Lines still on the ticket's calls for time entries that moved off it or were deleted:
-- ERP hours of the ticket, until the push takes them off a call not yet invoiced.
lines_left as (
    select
        ticket_id,
        sum(erp_hours) as erp_hours,
        count(*) filter (where line_change = 'remove') as lines,
        min(case when is_entry_deleted then 'time-entry-deleted-after-invoice'
            else 'time-entry-moved-after-invoice' end) filter (where line_change = 'invoiced')
            as invoiced_code
    from {{ ref('int_service_lines_left') }}
    group by ticket_id
),

final as (
    select
        sync.ticket_id,
        sync.summary,
        sync.company_identifier,
        sync.customer_number,
        sync.latest_call_number as call_number,
        coalesce(time_planned.psa_billable_hours, 0) as psa_billable_hours,
        coalesce(time_planned.psa_non_billable_hours, 0) as psa_non_billable_hours,
        coalesce(time_planned.erp_hours, 0) + coalesce(lines_left.erp_hours, 0) as erp_hours,
        coalesce(time_planned.erp_not_billable_hours, 0) as erp_not_billable_hours,
        coalesce(time_planned.hours_to_send, 0) - coalesce(time_planned.erp_hours, 0)
            - coalesce(lines_left.erp_hours, 0) as difference_hours,
        case
            when coalesce(time_planned.hours_to_send, 0)
                = coalesce(time_planned.erp_hours, 0) + coalesce(lines_left.erp_hours, 0)
                then null
            when sync.action = 'waiting' then 'waiting: ' || sync.waiting_code
            when sync.action = 'skipped' then 'skipped: ' || sync.skip_code
            when sync.action in ('create-call', 'update-call', 'follow-up-call')
                and (coalesce(time_planned.unsent_hours, 0) > 0
                    or time_planned.lines_to_correct > 0 or lines_left.lines > 0)
                then 'to send: ' || sync.action
            when time_planned.lines_changed_after_invoice > 0
                then 'invoiced: time-entry-changed-after-invoice'
            when lines_left.invoiced_code is not null then 'invoiced: ' || lines_left.invoiced_code
            else 'unexplained'
        end as difference_reason
    from sync
    left join time_planned on sync.ticket_id = time_planned.ticket_id
    left join lines_left on sync.ticket_id = lines_left.ticket_id
)

select * from final
