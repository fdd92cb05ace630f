with

source as (
    select
        *,
        from_json(
            coalesce(custom_properties, '[]'), '[{"Name": "VARCHAR", "Value": "VARCHAR"}]'
        ) as property_list
    from {{ source('raw_eautomate', 'contracts') }}
),

renamed as (
    select
        cast(contract_id as bigint) as contract_id,
        cast(contract_number as varchar) as contract_number,
        cast(customer_number as varchar) as customer_number,
        cast(bill_to_number as varchar) as bill_to_number,
        cast(contract_type as varchar) as contract_type,
        cast(status as varchar) as status,
        cast(status as varchar) = 'Active' as is_active,
        coalesce(cast(is_template as boolean), false) as is_template,
        try_cast(start_date as date) as start_date,
        try_cast(exp_date as date) as expiration_date,
        cast(billing_cycle as varchar) as billing_cycle,
        cast(base_rate as decimal(14, 2)) as base_rate,
        cast(po_number as varchar) as po_number,
        cast(remarks as varchar) as remarks,
        cast(template_number as varchar) as template_number,
        cast(termination_code as varchar) as termination_code,
        try_cast(nullif(trim(
            list_filter(property_list, lambda p: p.Name = 'ZCJ_CW_AgreementID')[1].Value
        ), '') as bigint) as cw_agreement_id_property,
        cast(custom_properties as varchar) as custom_properties,
        cast(details as varchar) as details,
        cast(create_date as timestamptz) as created_at,
        cast(last_update as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
