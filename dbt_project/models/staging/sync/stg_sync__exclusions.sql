with

source as (
    select * from {{ source('sync', 'exclusions') }}
),

renamed as (
    select
        cast(flow as varchar) as flow,
        cast(system as varchar) as system,
        cast(record_key as varchar) as record_key,
        cast(reason as varchar) as reason,
        cast(excluded_by as varchar) as excluded_by,
        cast(excluded_at as timestamptz) as excluded_at
    from source
)

select * from renamed
