-- The PSA time entries of the tickets the service sync takes (int_service_tickets_selected),
-- as they are now: an entry deleted in the PSA since it landed (int_time_entries_gone) is
-- not among them. With whether its ticket is a project ticket, and its project.
{{ config(materialized='table') }}
{#- A table, so that the planning joins know its size: inlined in int_service_time_planned,
    DuckDB took the filtered entries for a small side (about 120,000 rows estimated, three
    million at large) and hashed them whole; the build outgrew the warehouse's memory_limit. #}

with

entries as (
    select * from {{ ref('stg_connectwise__time_entries') }}
    where charge_to_type in ('ServiceTicket', 'ProjectTicket')
),

gone as (
    select time_entry_id from {{ ref('int_time_entries_gone') }}
),

selected as (
    select ticket_id, is_project, project_id from {{ ref('int_service_tickets_selected') }}
),

final as (
    select entries.*, selected.is_project, selected.project_id
    from entries
    inner join selected on entries.charge_to_id = selected.ticket_id
    anti join gone on entries.time_entry_id = gone.time_entry_id
)

select * from final
