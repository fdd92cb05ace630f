with

source as (
    select * from {{ source('raw_connectwise', 'agreements') }}
),

renamed as (
    select
        cast(id as bigint) as agreement_id,
        cast(name as varchar) as agreement_name,
        cast(type__name as varchar) as agreement_type,
        cast(company__id as bigint) as company_id,
        cast(company__identifier as varchar) as company_identifier,
        cast(agreement_status as varchar) as agreement_status,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        cast(bill_amount as decimal(18, 2)) as bill_amount,
        coalesce(cast(cancelled_flag as boolean), false) as is_cancelled,
        cast(info__last_updated as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
