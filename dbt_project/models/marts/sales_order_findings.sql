-- Everything about the sales-order sync a person may need to act on, one row per order,
-- line and code: orders waiting for their mapping, lines that get the error item (with
-- the product and the template), final ERP orders whose lines differ from the PSA order,
-- and ERP orders whose money differs from the PSA's.
with

synced as (
    select * from {{ ref('sales_order_sync') }}
),

lines as (
    select * from {{ ref('int_sales_order_lines_planned') }}
),

findings as (
    select
        order_id, null::bigint as line_id, waiting_code as code,
        case waiting_code
            when 'order-company-unmapped' then 'company ' || coalesce(company_identifier, company_id::varchar)
                || ' is not mapped to an ERP customer'
            else 'bill-to company ' || coalesce(bill_to_identifier, bill_to_company_id::varchar)
                || ' is not mapped to an ERP customer'
        end as finding
    from synced
    where action = 'waiting'
    union all
    select
        lines.order_id, lines.line_id, lines.finding_code as code,
        'product ' || coalesce(lines.item_identifier, '?') || ' ('
            || coalesce(lines.product_type, lines.product_class, 'no type') || '): '
            || case lines.finding_code
                when 'item-template-missing' then 'no item template ' || lines.template_number
                when 'item-template-codes-missing' then 'item template ' || lines.template_number
                    || ' lacks an inventory or expense code and a sales code'
                else 'the item number cannot be an ERP item'
            end || '; the line gets the error item' as finding
    from lines
    inner join synced on lines.order_id = synced.order_id and synced.action <> 'waiting'
    where lines.finding_code is not null
    union all
    select
        order_id, null::bigint as line_id, 'order-changed-after-shipping' as code,
        'ERP order ' || so_number || ' is ' || erp_status || '; its lines (' || coalesce(current_lines_text, '')
            || ') differ from the PSA order''s (' || planned_lines_text || ')' as finding
    from synced
    where action = 'final-changed'
),

final as (
    select
        findings.order_id,
        findings.line_id,
        synced.company_name,
        synced.so_number,
        findings.code,
        findings.finding
    from findings
    inner join synced on findings.order_id = synced.order_id
)

select * from final
