with

source as (
    select * from {{ source('sync', 'runs') }}
),

renamed as (
    select
        cast(run_id as varchar) as run_id,
        cast(flow as varchar) as flow,
        cast(started_at as timestamptz) as started_at,
        cast(finished_at as timestamptz) as finished_at,
        cast(status as varchar) as status,
        cast(is_plan as boolean) as is_plan,
        cast(is_full_refresh as boolean) as is_full_refresh,
        cast(message as varchar) as message
    from source
)

select * from renamed
