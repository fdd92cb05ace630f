with

source as (
    select
        *,
        from_json(
            coalesce(custom_fields, '[]'), '[{"id": "BIGINT", "caption": "VARCHAR", "value": "VARCHAR"}]'
        )
            as field_list
    from {{ source('raw_connectwise', 'agreements') }}
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
        cast(type__id as bigint) as agreement_type_id,
        -- An agreement without a bill-to company is billed to its own company.
        coalesce(cast(bill_to_company__id as bigint), cast(company__id as bigint))
            as bill_to_company_id,
        cast(billing_cycle__name as varchar) as billing_cycle,
        cast(bill_start_date as date) as bill_start_date,
        cast(date_cancelled as date) as cancelled_date,
        coalesce(cast(no_ending_date_flag as boolean), false) as has_no_end_date,
        cast(customer_po as varchar) as customer_po,
        -- The ERP contract the incumbent (or an operator) named, with its revision.
        nullif(trim(list_filter(field_list, lambda f: f.caption = 'ZCJ_ContractNumber')[1].value), '')
            as contract_number_field,
        list_filter(field_list, lambda f: f.caption = 'ZCJ_ContractNumber')[1].id
            as contract_number_field_id,
        cast(custom_fields as varchar) as custom_fields,
        cast(info__last_updated as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
