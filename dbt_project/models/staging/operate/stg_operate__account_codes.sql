with

source as (
    select * from {{ source('raw_operate', 'account_codes') }}
),

renamed as (
    select
        cast(id as bigint) as account_code_id,
        cast(account_id as bigint) as account_id,
        cast(application_id as bigint) as application_id,
        cast(code as varchar) as account_code,
        cast(updated_at as timestamptz) as updated_at
    from source
)

select * from renamed
