with

source as (
    select * from {{ source('raw_eautomate', 'code_lists') }}
),

renamed as (
    select
        cast(list_type as varchar) as list_type,
        cast(code as varchar) as code,
        cast(description as varchar) as description,
        coalesce(cast(active as boolean), true) as is_active,
        _loaded_at as loaded_at
    from source
)

select * from renamed
