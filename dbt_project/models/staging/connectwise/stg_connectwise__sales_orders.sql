with

source as (
    select
        *,
        from_json(
            coalesce(custom_fields, '[]'),
            '[{"id": "BIGINT", "caption": "VARCHAR", "value": "VARCHAR"}]'
        ) as field_list
    from {{ source('raw_connectwise', 'sales_orders') }}
),

renamed as (
    select
        cast(id as bigint) as order_id,
        cast(company__id as bigint) as company_id,
        cast(status__name as varchar) as order_status,
        cast(coalesce(bill_to_company__id, company__id) as bigint) as bill_to_company_id,
        cast(coalesce(ship_to_site__id, site__id) as bigint) as ship_to_site_id,
        cast(order_date as date) as order_date,
        cast(po_number as varchar) as po_number,
        cast(description as varchar) as description,
        cast(sub_total as decimal(18, 2)) as sub_total,
        cast(total as decimal(18, 2)) as total,
        cast(custom_fields as varchar) as custom_fields,
        cast(info__last_updated as timestamptz) as last_updated_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
