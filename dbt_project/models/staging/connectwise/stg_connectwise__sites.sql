with

source as (
    select * from {{ source('raw_connectwise', 'sites') }}
),

renamed as (
    select
        cast(id as bigint) as site_id,
        cast(company__id as bigint) as company_id,
        cast(name as varchar) as site_name,
        cast(address_line1 as varchar) as address_line1,
        cast(address_line2 as varchar) as address_line2,
        cast(city as varchar) as city,
        cast(state_reference__identifier as varchar) as state,
        cast(zip as varchar) as zip,
        cast(phone_number as varchar) as phone_number,
        cast(fax_number as varchar) as fax_number,
        coalesce(cast(inactive_flag as boolean), false) as is_inactive,
        coalesce(cast(primary_address_flag as boolean), false) as is_primary,
        cast(info__last_updated as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
