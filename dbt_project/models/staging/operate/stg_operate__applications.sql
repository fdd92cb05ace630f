with

source as (
    select * from {{ source('raw_operate', 'applications') }}
),

renamed as (
    select
        cast(id as bigint) as application_id,
        cast(name as varchar) as application_name
    from source
)

select * from renamed
