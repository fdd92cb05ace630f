with

source as (
    select * from {{ source('raw_connectwise', 'members') }}
),

renamed as (
    select
        cast(id as bigint) as member_id,
        cast(identifier as varchar) as member_identifier,
        cast(first_name as varchar) as first_name,
        cast(last_name as varchar) as last_name,
        cast(primary_email as varchar) as email,
        cast(license_class as varchar) as license_class,
        nullif(trim(cast(employee_identifer as varchar)), '') as technician_number,
        coalesce(cast(inactive_flag as boolean), false) as is_inactive,
        cast(info__last_updated as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
