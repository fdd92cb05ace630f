-- Projects and how they bill: a fixed fee (billing_amount) or the time at its rates.
with

source as (
    select * from {{ source('raw_connectwise', 'projects') }}
),

renamed as (
    select
        cast(id as bigint) as project_id,
        cast(name as varchar) as project_name,
        cast(company__id as bigint) as company_id,
        cast(billing_method as varchar) as billing_method,
        coalesce(cast(billing_method as varchar), '') = 'FixedFee' as is_fixed_fee,
        cast(billing_amount as decimal(18, 2)) as billing_amount,
        cast(status__name as varchar) as project_status,
        coalesce(cast(closed_flag as boolean), false) as is_closed,
        cast(info__last_updated as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
