with

source as (
    select * from {{ source('raw_connectwise', 'company_ids') }}
),

renamed as (
    select
        cast(id as bigint) as company_id,
        cast(identifier as varchar) as identifier,
        coalesce(cast(deleted_flag as boolean), false) as is_deleted
    from source
)

select * from renamed
