-- The last run of each flow and what it landed, and the last plan run apart: a plan writes
-- nothing, so it is never a flow's last run. A view, not a table, so that it shows the runs
-- recorded after the dbt build that created it.
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
    where not is_plan
    qualify row_number() over (partition by flow order by started_at desc) = 1
),

latest_plan as (
    select flow, run_id, started_at, status
    from runs
    where is_plan
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
        coalesce(latest.flow, latest_plan.flow) as flow,
        latest.run_id,
        coalesce(latest.status, 'no run yet') as status,
        latest.started_at,
        latest.finished_at,
        coalesce(landed.rows_read, 0) as rows_read,
        coalesce(landed.rows_landed, 0) as rows_landed,
        coalesce(landed.rows_quarantined, 0) as rows_quarantined,
        latest.message,
        latest_plan.run_id as last_plan_run_id,
        latest_plan.started_at as last_plan_started_at,
        latest_plan.status as last_plan_status
    from latest
    full outer join latest_plan on latest.flow = latest_plan.flow
    left join landed on latest.run_id = landed.run_id
)

select * from final
