-- PSA time entries deleted since they landed: time entries land by lastUpdated, which a
-- deletion takes away with the record, so one that landed before the last sweep of every
-- time entry id (service-sync, flows.service_sync.sweep_hours) and that the sweep did not
-- return is gone. The sweep's time is when its first page landed (nothing else lands in
-- that run after it; its watermark, when it began, would key every model that reads the
-- watermarks to this sweep too). Before the first sweep none is.
{{ config(materialized='table') }}  {#- three models read it; each would join the millions of ids again #}

with

entries as (
    select * from {{ ref('stg_connectwise__time_entries') }}
),

swept as (
    select * from {{ ref('stg_connectwise__time_entry_ids') }}
),

last_sweep as (
    select min(loaded_at) as swept_at from swept
),

final as (
    select entries.time_entry_id, entries.charge_to_id, last_sweep.swept_at
    from entries
    cross join last_sweep
    left join swept on entries.time_entry_id = swept.time_entry_id
    where swept.time_entry_id is null and entries.loaded_at < last_sweep.swept_at
)

select * from final
