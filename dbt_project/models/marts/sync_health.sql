-- The last run of each flow and what it landed. A view, not a table, so that it shows
-- the runs recorded after the dbt build that created it.
{{ config(materialized='view') }}

with

runs as (
    select * from {{ ref('stg_sync__runs') }}
),

run_entities as (
    select * from {{ ref('stg_sync__run_entities') }}
),

latest as (
    select *
    from runs
    qualify row_number() over (partition by flow order by started_at desc) = 1
),

landed as (
    select
        run_id,
        sum(rows_read) as rows_read,
        sum(rows_landed) as rows_landed,
        sum(rows_quarantined) as rows_quarantined
    from run_entities
    group by 1
),

final as (
    select
        latest.flow,
        latest.run_id,
        latest.status,
        latest.started_at,
        latest.finished_at,
        latest.is_plan,
        coalesce(landed.rows_read, 0) as rows_read,
        coalesce(landed.rows_landed, 0) as rows_landed,
        coalesce(landed.rows_quarantined, 0) as rows_quarantined,
        latest.message
    from latest
    left join landed on latest.run_id = landed.run_id
)

select * from final
