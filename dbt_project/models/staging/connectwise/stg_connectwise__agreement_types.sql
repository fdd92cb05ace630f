with

source as (
    select * from {{ source('raw_connectwise', 'agreement_types') }}
),

renamed as (
    select
        cast(id as bigint) as agreement_type_id,
        cast(name as varchar) as agreement_type,
        coalesce(cast(inactive_flag as boolean), false) as is_inactive,
        cast(billing_cycle__name as varchar) as billing_cycle,
        _loaded_at as loaded_at
    from source
)

select * from renamed
