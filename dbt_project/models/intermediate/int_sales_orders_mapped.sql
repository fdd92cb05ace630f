-- The PSA sales orders to sync, beside the ERP customers they go to: orders in
-- flows.sales_order_sync.statuses (every status that is not closed when the list is
-- empty); customer and bill-to from the customer-sync mapping of the order's company and
-- bill-to company; ship-to the location mapped to the ship-to site when it is one of the
-- customer's, else the customer (as the incumbent ships). An order whose company or
-- bill-to is not mapped waits, with the reason, and goes through once it is.
{%- set statuses = sales_order_sync_setting('statuses', []) %}
{%- set field = sales_order_sync_setting('order_number_field', 'ZCJ_SONumber') %}

with

orders as (
    select * from {{ ref('stg_connectwise__sales_orders') }}
),

statuses as (
    select * from {{ ref('stg_connectwise__order_statuses') }}
),

companies as (
    select * from {{ ref('stg_connectwise__companies') }}
),

erp_customers as (
    select * from {{ ref('stg_eautomate__customers') }}
),

customers as (
    select * from {{ ref('int_company_customers') }}
),

locations as (
    select * from {{ ref('int_site_locations') }}
),

selected as (
    select orders.*
    from orders
    left join statuses on orders.order_status = statuses.order_status
    where
    {%- if statuses %}
        orders.order_status in ({{ _sql_list(statuses) }})
    {%- else %}
        not coalesce(statuses.is_closed, false)
    {%- endif %}
),

final as (
    select
        selected.order_id,
        selected.order_status,
        selected.order_date,
        selected.po_number,
        selected.description,
        selected.company_id,
        company.identifier as company_identifier,
        company.company_name,
        selected.bill_to_company_id,
        bill_to.identifier as bill_to_identifier,
        bill_to.company_name as bill_to_name,
        selected.ship_to_site_id,
        customer.customer_number,
        payer.customer_number as bill_to_number,
        case
            when location.parent_customer_number = customer.customer_number
                then location.location_number
            else customer.customer_number
        end as ship_to_number,
        coalesce(erp_customer.is_on_hold, false) as is_customer_on_hold,
        erp_customer.on_hold_code as customer_hold_code,
        nullif(trim(list_filter(
            from_json(coalesce(selected.custom_fields, '[]'), '[{"caption": "VARCHAR", "value": "VARCHAR"}]'),
            lambda f: f.caption = '{{ field }}'
        )[1].value), '') as order_number_field,
        selected.custom_fields,
        case
            when customer.customer_number is null then 'order-company-unmapped'
            when payer.customer_number is null then 'order-bill-to-unmapped'
        end as waiting_code
    from selected
    left join companies as company on selected.company_id = company.company_id
    left join companies as bill_to on selected.bill_to_company_id = bill_to.company_id
    left join customers as customer on selected.company_id = customer.company_id
    left join customers as payer on selected.bill_to_company_id = payer.company_id
    left join locations as location on selected.ship_to_site_id = location.site_id
    left join erp_customers as erp_customer on customer.customer_number = erp_customer.customer_number
)

select * from final
