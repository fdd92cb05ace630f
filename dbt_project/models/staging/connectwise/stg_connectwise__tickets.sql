with

source as (
    select * from {{ source('raw_connectwise', 'tickets') }}
),

renamed as (
    select
        {{ ticket_columns('ServiceTicket') }}
        _loaded_at as loaded_at
    from source
)

select * from renamed
