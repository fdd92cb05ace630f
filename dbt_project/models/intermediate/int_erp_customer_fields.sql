-- Each ERP customer and location as the PSA holds companies and sites: the Address split
-- into its first line and the rest (joined with ", "), every value trimmed, empty as null.

with

customers as (
    select
        *,
        string_split(replace(coalesce(address, ''), chr(13), ''), chr(10)) as address_lines
    from {{ ref('stg_eautomate__customers') }}
),

final as (
    select
        customer_number,
        parent_customer_number,
        is_active,
        nullif(trim(customer_name), '') as customer_name,
        nullif(trim(address_lines[1]), '') as address_line1,
        nullif(array_to_string(
            list_filter(list_transform(address_lines[2:], lambda x: trim(x)), lambda x: x <> ''), ', '
        ), '') as address_line2,
        nullif(trim(city), '') as city,
        nullif(trim(state), '') as state,
        nullif(trim(zip), '') as zip,
        nullif(trim(phone), '') as phone,
        nullif(trim(fax), '') as fax,
        nullif(trim(website), '') as website,
        cw_company_id_property,
        cw_site_id_property
    from customers
)

select * from final
