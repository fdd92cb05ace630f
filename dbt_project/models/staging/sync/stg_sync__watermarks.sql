with

source as (
    select * from {{ source('sync', 'watermarks') }}
),

renamed as (
    select
        cast(system as varchar) || '.' || cast(entity as varchar) as watermark_id,
        cast(system as varchar) as system,
        cast(entity as varchar) as entity,
        cast(cursor_value as varchar) as cursor_value,
        cast(run_id as varchar) as run_id,
        cast(advanced_at as timestamptz) as advanced_at
    from source
)

select * from renamed
