with

source as (
    select * from {{ source('sync', 'field_base') }}
),

renamed as (
    select
        cast(kind as varchar) as link_kind,
        cast(source_key as varchar) as source_key,
        cast(field as varchar) as field,
        cast(target_key as varchar) as target_key,
        cast(value as varchar) as base_value,
        cast(synced_at as timestamptz) as synced_at
    from source
)

select * from renamed
