-- Per PSA sales order to sync, what the ERP must hold and what to do: wait (its company
-- or bill-to not mapped), create the ERP order, update the lines of an open ERP order
-- that differ, report a final (shipped, invoiced, cancelled) ERP order whose lines differ
-- (never changed), release the error-item hold of an open ERP order once no line needs
-- it, or nothing. The ERP order is the one whose key names the PSA order
-- ([CW SO #<id>] opening its description, or CW-SO-<id> as its PO): the incumbent's too.
-- Lines compare on item, quantity and price.
{%- set hold_code = sales_order_sync_setting('hold_code', 'BadSync') %}
{%- set customer_hold_code = sales_order_sync_setting('customer_hold_code', 'CH') %}

with

orders as (
    select * from {{ ref('int_sales_orders_mapped') }}
),

lines as (
    select * from {{ ref('int_sales_order_lines_planned') }}
),

erp_orders as (
    select * from {{ ref('stg_eautomate__sales_orders') }}
),

erp_lines as (
    select
        so_number,
        unnest(from_json(coalesce(details, '[]'),
            '[{"LineNumber": "BIGINT", "Item": "VARCHAR", "Quantity": "DECIMAL(18, 6)", "Price": "DECIMAL(18, 4)"}]'
        ), recursive := true)
    from erp_orders
),

current_lines as (
    select
        so_number,
        string_agg(
            upper(Item) || ' x ' || {{ plain_number('Quantity') }} || ' @ '
                || {{ plain_number('coalesce(Price, 0)') }},
            '; ' order by LineNumber
        ) as current_lines_text,
        round(sum(Quantity * coalesce(Price, 0)), 2) as current_total
    from erp_lines
    group by so_number
),

planned as (
    select
        order_id,
        string_agg(
            upper(erp_item) || ' x ' || {{ plain_number('quantity') }} || ' @ '
                || {{ plain_number('unit_price') }},
            '; ' order by line_order
        ) filter (where line_action <> 'skip') as planned_lines_text,
        coalesce(round(sum(amount) filter (where line_action <> 'skip'), 2), 0) as planned_total,
        count(*) filter (where line_action <> 'skip') as line_count,
        count(*) filter (where line_action = 'skip') as skipped_lines,
        count(*) filter (where line_action = 'error-item') as error_lines,
        count(*) filter (where line_action = 'create-item') as item_creates,
        count(*) filter (where is_drop_ship and line_action <> 'skip') as drop_ship_lines
    from lines
    group by order_id
),

-- The ERP order each PSA order was last linked to (sync.links, kind sales-order).
links as (
    select try_cast(source_key as bigint) as order_id, target_key as linked_so_number
    from {{ ref('stg_sync__links') }}
    where link_kind = 'sales-order'
),

-- The incumbent may have made two orders for one PSA order: the first is the order.
matched as (
    select psa_order_id, min(so_number) as so_number, count(*) as erp_orders
    from erp_orders
    where psa_order_id is not null
    group by psa_order_id
),

joined as (
    select
        orders.*,
        coalesce(planned.planned_lines_text, '') as planned_lines_text,
        coalesce(planned.planned_total, 0) as planned_total,
        coalesce(planned.line_count, 0) as line_count,
        coalesce(planned.skipped_lines, 0) as skipped_lines,
        coalesce(planned.error_lines, 0) as error_lines,
        coalesce(planned.item_creates, 0) as item_creates,
        coalesce(planned.drop_ship_lines, 0) as drop_ship_lines,
        case
            when orders.is_customer_on_hold
                then coalesce(orders.customer_hold_code, '{{ customer_hold_code }}')
            when coalesce(planned.error_lines, 0) > 0 then '{{ hold_code }}'
        end as planned_hold_code,
        matched.so_number,
        coalesce(matched.erp_orders, 0) as erp_orders,
        erp.status as erp_status,
        coalesce(erp.is_final, false) as is_erp_final,
        erp.on_hold_code as erp_hold_code,
        erp.customer_number as erp_customer_number,
        current_lines.current_lines_text,
        current_lines.current_total,
        matched.so_number is not null
            and orders.order_number_field is distinct from matched.so_number as is_field_stale,
        matched.so_number is not null
            and links.linked_so_number is distinct from matched.so_number as is_link_stale,
        coalesce(current_lines.current_lines_text, '')
            = coalesce(planned.planned_lines_text, '') as is_lines_in_sync
    from orders
    left join planned on orders.order_id = planned.order_id
    left join matched on orders.order_id = matched.psa_order_id
    left join erp_orders as erp on matched.so_number = erp.so_number
    left join current_lines on matched.so_number = current_lines.so_number
    left join links on orders.order_id = links.order_id
),

final as (
    select
        * exclude (is_lines_in_sync),
        -- The error-item hold crosswalk put on an open order, once no line needs it (the
        -- template was fixed, the line cancelled): released, or the customer's hold put on.
        coalesce(
            so_number is not null and not is_erp_final
                and upper(erp_hold_code) = upper('{{ hold_code }}')
                and upper(coalesce(planned_hold_code, '')) <> upper(erp_hold_code),
            false
        ) as is_hold_stale,
        case
            when waiting_code is not null then 'waiting'
            when so_number is null then 'create'
            when is_lines_in_sync and not is_hold_stale then 'in-sync'
            when is_erp_final then 'final-changed'
            else 'update'
        end as action
    from joined
)

select * from final
