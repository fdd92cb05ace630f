with

source as (
    select * from {{ source('raw_operate', 'device_import_maps') }}
),

renamed as (
    select
        cast(id as bigint) as device_import_map_id,
        cast(device_name as varchar) as device_name,
        cast(application_id as bigint) as application_id,
        cast(extension as varchar) as file_extension,
        cast(header_rows as integer) as header_rows,
        cast(footer_rows as integer) as footer_rows,
        coalesce(cast(ignore_zero_values as boolean), false) as is_ignoring_zero_values,
        nullif(trim(cast(account_code as varchar)), '') as map_account_code,
        cast(default_product_id as bigint) as default_product_id
    from source
)

select * from renamed
