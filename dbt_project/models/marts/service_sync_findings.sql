-- Everything about the service sync a person may need to act on, one row per ticket and
-- code: what waits and why (a company not mapped, a member without an ERP technician),
-- billable time of one member that overlaps another entry of theirs (double billing), time
-- entries changed after their call was invoiced or moved to this ticket after another
-- ticket's call billed them or deleted after it billed them, and hours that differ between the PSA and the ERP with no
-- reason.

with

synced as (
    select * from {{ ref('service_call_sync') }}
),

time_planned as (
    select * from {{ ref('int_service_time_planned') }}
),

hours as (
    select * from {{ ref('ticket_hours') }}
),

lines_left as (
    select * from {{ ref('int_service_lines_left') }}
),

findings as (
    select
        synced.ticket_id,
        synced.waiting_code as code,
        case synced.waiting_code
            when 'ticket-company-unmapped' then 'company ' || coalesce(synced.company_identifier,
                cast(synced.company_id as varchar)) || ' is not mapped to an ERP customer'
            else 'time by member ' || string_agg(distinct time_planned.member_identifier, ', ')
                || ', who has no ERP technician'
        end as finding
    from synced
    left join time_planned
        on synced.ticket_id = time_planned.ticket_id
        and time_planned.waiting_code = synced.waiting_code
    where synced.action = 'waiting'
    group by synced.ticket_id, synced.waiting_code, synced.company_identifier, synced.company_id
    union all
    select
        ticket_id,
        'time-entry-overlap' as code,
        'time entry ' || time_entry_id || ' of ' || member_identifier || ' overlaps time entry '
            || overlapping_time_entry_id as finding
    from time_planned
    where overlapping_time_entry_id is not null and time_entry_id < overlapping_time_entry_id
    union all
    select
        ticket_id,
        'time-entry-changed-after-invoice' as code,
        'time entry ' || time_entry_id || case when goes_to_erp
            then ' now holds ' || round(labor_hours, 2) || ' hours'
            else ' is no longer billable' end
            || '; its line on invoiced call ' || erp_call_number || ' holds '
            || round(erp_hours, 2) || coalesce(' (' || nullif(concat_ws(', ',
                case when erp_remarks is distinct from remarks then 'notes changed' end,
                case when lower(erp_technician_number) is distinct from lower(technician_number)
                    then 'technician ' || erp_technician_number || ' -> ' || technician_number
                end), '') || ')', '') as finding
    from time_planned
    where line_change = 'invoiced'
    union all
    select
        ticket_id,
        'time-entry-moved-after-invoice' as code,
        'time entry ' || time_entry_id || ' (' || round(labor_hours, 2) || ' hours) moved here '
            || 'from ticket ' || billed_on_ticket_id || ', whose invoiced call ' || erp_call_number
            || ' billed it' as finding
    from time_planned
    where billed_on_ticket_id is not null
    union all
    select
        ticket_id,
        'time-entry-deleted-after-invoice' as code,
        'time entry ' || time_entry_id || ' was deleted in the PSA; its line on invoiced call '
            || erp_call_number || ' billed ' || round(erp_hours, 2) || ' hours' as finding
    from lines_left
    where line_change = 'invoiced' and is_entry_deleted
    union all
    select
        ticket_id,
        'hours-unexplained' as code,
        'the ERP holds ' || erp_hours || ' hours of its time, the PSA ' || psa_billable_hours
            as finding
    from hours
    where difference_reason = 'unexplained'
),

final as (
    select
        findings.ticket_id,
        synced.summary,
        synced.latest_call_number as call_number,
        findings.code,
        findings.finding
    from findings
    inner join synced on findings.ticket_id = synced.ticket_id
)

select * from final
