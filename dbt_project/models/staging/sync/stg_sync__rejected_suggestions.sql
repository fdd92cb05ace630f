with

source as (
    select * from {{ source('sync', 'rejected_suggestions') }}
),

renamed as (
    select
        cast(customer_number as varchar) || ':' || cast(company_id as varchar) as suggestion_id,
        cast(customer_number as varchar) as customer_number,
        cast(company_id as bigint) as company_id,
        cast(rejected_by as varchar) as rejected_by,
        cast(note as varchar) as note,
        cast(rejected_at as timestamptz) as rejected_at
    from source
)

select * from renamed
