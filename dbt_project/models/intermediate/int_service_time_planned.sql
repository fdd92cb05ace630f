-- Each time entry of a selected ticket, as the labor line it becomes on the ticket's ERP
-- call, and where it already is. The technician is the member's technician number
-- (employeeIdentifer) when the ERP has it, else flows.service_sync.technicians; hours are
-- the actual (or billed) hours; a time entry that is not billable is left off the call
-- (non_billable = "skip") or sent at zero hours ("zero"). A line crosswalk made carries
-- "[TE #<id>]" in its Remarks; the incumbent's lines carry no key and are matched by
-- technician, day and hours, one line to one entry, so that adopting a call never doubles
-- its hours. A line crosswalk made whose entry changed in the PSA since (its hours, notes,
-- technician or activity) is corrected on a call not yet invoiced (line_change 'correct'),
-- and taken off it when the entry is no longer billable ('remove'); on an invoiced call it
-- is left, and said ('invoiced'). A time entry moved to another ticket goes on that
-- ticket's call, and its line comes off the call it was on (int_service_lines_left),
-- unless that call was invoiced: then it was billed once, there (billed_on_ticket_id).
-- Project time (ID522) goes once a project invoice bills it, never by a down payment; time
-- billed later goes on a new call (the push makes a call per invoice, PONumber the PSA
-- invoice number). On a fixed-fee project every billed entry is a labor line at its actual
-- hours and LaborRate 0: the fee, a line of the fixed-fee item, is what bills it.
{{ config(materialized='table') }}  {#- four marts and the push read it: computed once #}
{%- set technicians = service_sync_setting('technicians', {}) %}
{%- set non_billable = service_sync_setting('non_billable', 'skip') %}
{%- set hours = service_sync_setting('hours', 'actual') %}

with

entries as (
    select * from {{ ref('int_service_time_entries') }}
),

invoices as (
    select * from {{ ref('stg_connectwise__invoices') }}
),

projects as (
    select * from {{ ref('stg_connectwise__projects') }}
),

members as (
    select * from {{ ref('stg_connectwise__members') }}
),

technicians as (
    select * from {{ ref('stg_eautomate__technicians') }}
),

configured as (
    select * from (values
    {%- for member, number in technicians.items() %}
        ({{ quoted(member) }}, {{ quoted(number) }}){{ ',' if not loop.last }}
    {%- else %}
        (null, null)
    {%- endfor %}
    ) as t (member_identifier, technician_number)
    where member_identifier is not null
),

calls as (
    select * from {{ ref('stg_eautomate__calls') }}
    where ticket_id is not null and status_code <> 'Canceled'
),

labors as (
    select labors.*, calls.ticket_id, calls.status_code as call_status
    from {{ ref('stg_eautomate__call_labors') }} as labors
    inner join calls on labors.call_number = calls.call_number
),

planned as (
    select
        entries.time_entry_id,
        entries.charge_to_id as ticket_id,
        entries.member_id,
        entries.member_identifier,
        members.technician_number as member_technician_number,
        coalesce(configured.technician_number, erp.technician_number) as technician_number,
        entries.work_type,
        entries.work_role,
        entries.billable_option,
        coalesce(entries.billable_option, 'Billable') = 'Billable' as is_billable,
        entries.agreement_id,
        entries.invoice_id,
        entries.is_project,
        entries.project_id,
        coalesce(projects.is_fixed_fee, false) as is_fixed_fee,
        coalesce(invoices.invoice_number, cast(invoices.invoice_id as varchar)) as invoice_number,
        invoices.invoice_type,
        invoices.invoice_date,
        entries.started_at,
        coalesce(entries.ended_at, entries.started_at) as ended_at,
        {{ dealer_time('entries.started_at') }} as started_local,
        {{ dealer_time('coalesce(entries.ended_at, entries.started_at)') }} as ended_local,
        coalesce(entries.actual_hours, 0) as actual_hours,
        {% if hours == 'billed' -%}
        coalesce(entries.hours_billed, 0)
        {%- else -%}
        coalesce(entries.actual_hours, 0)
        {%- endif %} as hours,
        {{ code_by('entries.work_type', service_sync_setting('activity_codes', {}),
                   service_sync_setting('activity_code', 'LABOR')) }} as activity_code,
        '[TE #' || entries.time_entry_id || ']'
            || coalesce(' ' || nullif(trim(entries.notes), ''), '') as remarks
    from entries
    left join invoices on entries.invoice_id = invoices.invoice_id
    left join projects on entries.project_id = projects.project_id
    left join members on entries.member_id = members.member_id
    left join configured on lower(entries.member_identifier) = lower(configured.member_identifier)
    left join technicians as erp on lower(members.technician_number) = lower(erp.technician_number)
),

sent as (
    select
        *,
        case
            when is_project then invoice_type is not null and invoice_type <> 'DownPayment'
            else is_billable or {{ 'true' if non_billable == 'zero' else 'false' }}
        end as goes_to_erp,
        case when is_billable or is_project and is_fixed_fee then hours else 0 end
            as labor_hours,
        case when is_project and is_fixed_fee then 0.00::decimal(18, 2) end as labor_rate
    from planned
),

-- A time entry's lines on the calls of the ticket it is on now.
keyed as (
    select
        time_entry_id,
        ticket_id,
        min(call_number) as call_number,
        sum(labor_hours) as erp_hours,
        count(*) as erp_lines,
        min(technician_number) as erp_technician_number,
        min(activity_code) as erp_activity_code,
        min(remarks) as erp_remarks,
        bool_or(call_status = 'Invoiced') as is_erp_invoiced
    from labors
    where time_entry_id is not null
    group by time_entry_id, ticket_id
),

-- A time entry's lines on invoiced calls of another ticket (it moved after it was billed).
billed_elsewhere as (
    select
        sent.time_entry_id,
        min(labors.ticket_id) as billed_on_ticket_id,
        min(labors.call_number) as call_number,
        sum(labors.labor_hours) as erp_hours
    from sent
    inner join labors
        on sent.time_entry_id = labors.time_entry_id
        and sent.ticket_id <> labors.ticket_id
        and labors.call_status = 'Invoiced'
    group by sent.time_entry_id
),

-- The incumbent's lines (no key), one to one with entries of the same technician, day and
-- hours on the same ticket: the n-th such entry takes the n-th such line.
unkeyed_lines as (
    select
        *,
        row_number() over (
            partition by ticket_id, lower(technician_number),
                {{ dealer_time('arrived_at') }}::date, round(labor_hours, 2)
            order by call_number, line_no
        ) as nth
    from labors
    where time_entry_id is null
),

unkeyed_entries as (
    select
        sent.time_entry_id,
        sent.ticket_id,
        lower(sent.technician_number) as technician_key,
        sent.started_local::date as day,
        round(sent.actual_hours, 2) as hours,
        row_number() over (
            partition by sent.ticket_id, lower(sent.technician_number), sent.started_local::date,
                round(sent.actual_hours, 2)
            order by sent.started_at, sent.time_entry_id
        ) as nth
    from sent
    left join keyed
        on sent.time_entry_id = keyed.time_entry_id and sent.ticket_id = keyed.ticket_id
    left join billed_elsewhere on sent.time_entry_id = billed_elsewhere.time_entry_id
    where keyed.time_entry_id is null and billed_elsewhere.time_entry_id is null
),

adopted as (
    select unkeyed_entries.time_entry_id, lines.call_number, lines.labor_hours as erp_hours
    from unkeyed_entries
    inner join unkeyed_lines as lines
        on unkeyed_entries.ticket_id = lines.ticket_id
        and unkeyed_entries.technician_key = lower(lines.technician_number)
        and unkeyed_entries.day = {{ dealer_time('lines.arrived_at') }}::date
        and unkeyed_entries.hours = round(lines.labor_hours, 2)
        and unkeyed_entries.nth = lines.nth
),

-- Billable time of one member on a ticket that overlaps another of their entries on it
-- (the double billing the incumbent warns about).
overlapping as (
    select a.time_entry_id, min(b.time_entry_id) as overlapping_time_entry_id
    from sent as a
    inner join sent as b
        on a.member_id = b.member_id
        and a.ticket_id = b.ticket_id
        and a.time_entry_id <> b.time_entry_id
        and a.started_at < b.ended_at
        and b.started_at < a.ended_at
    where a.is_billable and b.is_billable
    group by a.time_entry_id
),

final as (
    select
        sent.*,
        coalesce(keyed.call_number, elsewhere.call_number, adopted.call_number)
            as erp_call_number,
        coalesce(keyed.erp_hours, elsewhere.erp_hours, adopted.erp_hours) as erp_hours,
        case
            when keyed.call_number is not null then 'key'
            when elsewhere.call_number is not null then 'key, on another ticket''s call'
            when adopted.call_number is not null then 'technician, day and hours'
        end as erp_matched_by,
        case when keyed.call_number is null then elsewhere.billed_on_ticket_id end
            as billed_on_ticket_id,
        keyed.erp_remarks,
        keyed.erp_technician_number,
        case
            when keyed.call_number is null then null
            -- time no longer billable (non_billable = "skip") comes off the call
            when not sent.goes_to_erp and not sent.is_project
                then case when keyed.is_erp_invoiced then 'invoiced' else 'remove' end
            when not sent.goes_to_erp or sent.technician_number is null then null
            when keyed.erp_lines = 1
                and round(keyed.erp_hours, 2) = round(sent.labor_hours, 2)
                and lower(keyed.erp_technician_number) = lower(sent.technician_number)
                and lower(keyed.erp_activity_code) is not distinct from lower(sent.activity_code)
                and keyed.erp_remarks is not distinct from sent.remarks then null
            when keyed.is_erp_invoiced then 'invoiced'
            else 'correct'
        end as line_change,
        overlapping.overlapping_time_entry_id,
        case
            when sent.goes_to_erp then null
            when sent.is_project then 'project-time-not-billed'
            else 'time-entry-not-billable'
        end as skip_code,
        case
            when not sent.goes_to_erp
                or coalesce(keyed.call_number, elsewhere.call_number, adopted.call_number)
                is not null then null
            when sent.technician_number is not null then null
            when sent.member_technician_number is null then 'member-technician-missing'
            else 'member-technician-unknown'
        end as waiting_code
    from sent
    left join keyed
        on sent.time_entry_id = keyed.time_entry_id and sent.ticket_id = keyed.ticket_id
    left join billed_elsewhere as elsewhere on sent.time_entry_id = elsewhere.time_entry_id
    left join adopted on sent.time_entry_id = adopted.time_entry_id
    left join overlapping on sent.time_entry_id = overlapping.time_entry_id
)

select * from final
