with

source as (
    select * from {{ source('raw_eautomate', 'customers') }}
),

properties as (
    select
        *,
        from_json(
            coalesce(custom_properties, '[]'), '[{"Name": "VARCHAR", "Value": "VARCHAR"}]'
        ) as property_list
    from source
),

renamed as (
    select
        cast(customer_number as varchar) as customer_number,
        cast(customer_name as varchar) as customer_name,
        cast(nullif(trim(parent_location_number), '') as varchar) as parent_customer_number,
        parent_customer_number is null as is_parent,
        cast(bill_to_number as varchar) as bill_to_number,
        cast(address as varchar) as address,
        cast(city as varchar) as city,
        cast(state as varchar) as state,
        cast(zip as varchar) as zip,
        cast(country as varchar) as country,
        cast(phone1 as varchar) as phone,
        cast(fax as varchar) as fax,
        cast(email as varchar) as email,
        cast(web_site as varchar) as website,
        coalesce(cast(active as boolean), false) as is_active,
        coalesce(cast(on_hold as boolean), false) as is_on_hold,
        cast(on_hold_code as varchar) as on_hold_code,
        cast(customer_type_code as varchar) as customer_type_code,
        cast(branch_number as varchar) as branch_number,
        cast(territory_code as varchar) as territory_code,
        list_filter(property_list, lambda p: p.Name = 'ZCJ_CW_CompanyID')[1].Value
            as cw_company_id_property,
        list_filter(property_list, lambda p: p.Name = 'ZCJ_CW_SiteAddressRecID')[1].Value
            as cw_site_id_property,
        list_filter(property_list, lambda p: p.Name = 'ZCJ_SyncToCW')[1].Value
            as sync_to_cw_property,
        cast(custom_properties as varchar) as custom_properties,
        cast(last_update as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from properties
)

select * from renamed
