-- The links written back where the ERP's users look for them (seed 004): the PSA company
-- id in a parent customer's ZCJ_CW_CompanyID, the site id in a location's
-- ZCJ_CW_SiteAddressRecID, wherever missing or different; cleared when an operator
-- unlinked the record. Excluded records are left alone.

with

erp as (
    select * from {{ ref('int_erp_customer_fields') }}
),

wanted as (
    select
        'customer' as link_kind,
        mapped.customer_number,
        mapped.customer_number as parent_customer_number,
        'ZCJ_CW_CompanyID' as property,
        erp.cw_company_id_property as current_value,
        case when mapped.match_rule = 'unlinked' then ''
            else cast(mapped.company_id as varchar) end as new_value
    from {{ ref('mapped_customers') }} as mapped
    inner join erp on mapped.customer_number = erp.customer_number
    where not mapped.is_excluded
        and (mapped.company_id is not null or mapped.match_rule = 'unlinked')
    union all
    select
        'location',
        mapped.customer_number,
        mapped.parent_customer_number,
        'ZCJ_CW_SiteAddressRecID',
        erp.cw_site_id_property,
        cast(mapped.site_id as varchar)
    from {{ ref('mapped_locations') }} as mapped
    inner join erp on mapped.customer_number = erp.customer_number
    where not mapped.is_excluded and mapped.site_id is not null
)

select * from wanted
where coalesce(trim(current_value), '') <> new_value
