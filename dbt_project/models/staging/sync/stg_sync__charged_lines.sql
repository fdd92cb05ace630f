with

source as (
    select * from {{ source('sync', 'charged_lines') }}
),

renamed as (
    select
        cast(line_hash as varchar) as line_hash,
        cast(location_id as bigint) as location_id,
        cast(product_group_id as bigint) as product_group_id,
        cast(batch_sheet_id as bigint) as batch_sheet_id,
        cast(batch_date as date) as batch_date,
        cast(account_id as bigint) as account_id,
        cast(amount as decimal(14, 2)) as amount,
        cast(run_id as varchar) as run_id,
        cast(charged_at as timestamptz) as charged_at
    from source
)

select * from renamed
