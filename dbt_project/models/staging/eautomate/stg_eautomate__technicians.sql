with

source as (
    select * from {{ source('raw_eautomate', 'technicians') }}
),

renamed as (
    select
        cast(technician_number as varchar) as technician_number,
        cast(first_name as varchar) as first_name,
        cast(last_name as varchar) as last_name,
        cast(email as varchar) as email,
        coalesce(cast(active as boolean), true) as is_active,
        cast(last_update as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
