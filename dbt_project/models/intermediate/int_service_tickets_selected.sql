-- The PSA service and project tickets the service sync takes, with their time. Which
-- service tickets: with mode "status", tickets in flows.service_sync.statuses ({board:
-- [status, ...]}; empty: every closed ticket); with mode "invoiced", tickets whose time is on
-- a PSA invoice (the incumbent's invoice-only mode). Project tickets (ID522) go once time on
-- them is billed on a project invoice (a down payment bills no time): projects bill by
-- invoice, by phase or on completion, whatever the ticket's status. A ticket without a time
-- entry is skipped, with that reason: there is no labor to put on a call; so is one an
-- operator excluded. With first_date, only tickets closed (or, when still open, entered) on
-- or after it: the day the dealer starts syncing.
{{ config(materialized='table') }}  {#- three models read it: computed once, and a view inlined in them outgrew the warehouse's memory_limit at large #}
{%- set mode = service_sync_setting('mode', 'status') %}
{%- set statuses = service_sync_setting('statuses', {}) %}
{%- set first_date = service_sync_setting('first_date', none) %}

with

tickets as (
    select
        *,
        false as is_project,
        null::bigint as project_id,
        null::bigint as phase_id,
        null::varchar as phase_name
    from {{ ref('stg_connectwise__tickets') }}
    where coalesce(record_type, 'ServiceTicket') = 'ServiceTicket'
    union all by name
    select *, true as is_project
    from {{ ref('stg_connectwise__project_tickets') }}
),

invoices as (
    select * from {{ ref('stg_connectwise__invoices') }}
),

time_entries as (
    select
        entries.charge_to_id as ticket_id,
        count(*) as time_entries,
        count(entries.invoice_id) as invoiced_entries,
        count(*) filter (where invoices.invoice_type <> 'DownPayment') as billed_entries,
        sum(entries.actual_hours) as actual_hours
    from {{ ref('stg_connectwise__time_entries') }} as entries
    left join invoices on entries.invoice_id = invoices.invoice_id
    -- deleted in the PSA since they landed: no longer the ticket's time
    anti join {{ ref('int_time_entries_gone') }} as gone on entries.time_entry_id = gone.time_entry_id
    where entries.charge_to_type in ('ServiceTicket', 'ProjectTicket')
    group by entries.charge_to_id
),

-- Tickets an operator left out (crosswalk tickets exclude).
exclusions as (
    select cast(record_key as bigint) as ticket_id, reason
    from {{ ref('stg_sync__exclusions') }}
    where flow = 'service-sync' and system = 'connectwise'
),

final as (
    select
        tickets.* exclude (actual_hours),
        coalesce(time_entries.time_entries, 0) as time_entries,
        coalesce(time_entries.actual_hours, 0) as actual_hours,
        exclusions.ticket_id is not null as is_excluded,
        exclusions.reason as exclusion_reason,
        case
            when exclusions.ticket_id is not null then 'ticket-excluded'
            when time_entries.ticket_id is null then 'ticket-without-time'
        end as skip_code
    from tickets
    left join time_entries on tickets.ticket_id = time_entries.ticket_id
    left join exclusions on tickets.ticket_id = exclusions.ticket_id
    where (
        tickets.is_project and coalesce(time_entries.billed_entries, 0) > 0
        or not tickets.is_project and
    {%- if mode == 'invoiced' %}
        coalesce(time_entries.invoiced_entries, 0) > 0
    {%- elif statuses %}
        {%- set pairs = [] %}
        {%- for board, names in statuses.items() %}{% for name in names %}
            {%- set _ = pairs.append('(' ~ quoted(board) ~ ', ' ~ quoted(name) ~ ')') %}
        {%- endfor %}{% endfor %}
        (tickets.board, tickets.status) in ({{ pairs | join(', ') if pairs else '(null, null)' }})
    {%- else %}
        tickets.is_closed
    {%- endif %}
    )
    {%- if first_date %}
        and coalesce(tickets.closed_at, tickets.entered_at) >= '{{ first_date }}'::date
    {%- endif %}
)

select * from final
