with

source as (
    select * from {{ source('sync', 'field_owners') }}
),

renamed as (
    select
        cast(customer_number as varchar) || ':' || cast(field as varchar) as field_owner_id,
        cast(customer_number as varchar) as customer_number,
        cast(customer_number as varchar) = '*' as is_for_every_customer,
        cast(field as varchar) as field,
        cast(owner as varchar) as owner,
        cast(decided_by as varchar) as decided_by,
        cast(note as varchar) as note,
        cast(decided_at as timestamptz) as decided_at
    from source
)

select * from renamed
