-- Each line of an order to sync and what its ERP line is. The line's catalog item is the
-- ERP item of the same number; an item the ERP lacks is made from the item template of
-- its product type (flows.sales_order_sync.item_templates by type, else by product
-- class, else "<item_template_prefix><type>"), which must have an inventory or expense
-- code and a sales code the ERP's code lists hold. When the template is missing or lacks
-- them the line gets error_item, with the reason (the incumbent's rule, said per line).
-- A cancelled line is skipped; a drop-ship line is marked in its description. The price
-- of a line that is not billable is 0: the ERP order bills what the PSA order bills.
{%- set templates = sales_order_sync_setting('item_templates', {}) %}
{%- set prefix = sales_order_sync_setting('item_template_prefix', '**CWItem ') %}
{%- set error_item = sales_order_sync_setting('error_item', '**CWError') %}

with

orders as (
    select * from {{ ref('int_sales_orders_mapped') }}
),

lines as (
    select * from {{ ref('stg_connectwise__order_lines') }}
),

catalog as (
    select * from {{ ref('stg_connectwise__catalog_items') }}
),

items as (
    select * from {{ ref('stg_eautomate__items') }}
),

codes as (
    select * from {{ ref('stg_eautomate__code_lists') }}
),

described as (
    select
        lines.*,
        catalog.product_type,
        coalesce(catalog.product_class, lines.product_class) as item_product_class,
        catalog.description as catalog_description,
        item.item_number as erp_item_number,
        coalesce(
            {{ code_by('catalog.product_type', templates, none) }},
            {{ code_by('coalesce(catalog.product_class, lines.product_class)', templates, none) }},
            '{{ prefix }}' || coalesce(catalog.product_type, catalog.product_class, lines.product_class)
        ) as template_number
    from lines
    inner join orders on lines.order_id = orders.order_id
    left join catalog on lines.catalog_item_id = catalog.catalog_item_id
    left join items as item on upper(lines.item_identifier) = upper(item.item_number)
),

templated as (
    select
        described.*,
        template.item_number is not null as has_template,
        template.item_kind as template_item_kind,
        template.sales_code as template_sales_code,
        template.inventory_code as template_inventory_code,
        template.expense_code as template_expense_code,
        template.sales_code is not null
            and (template.inventory_code is not null or template.expense_code is not null)
            and exists (select 1 from codes where codes.list_type = 'SalesCode'
                and codes.code = template.sales_code)
            and (template.inventory_code is null or exists (select 1 from codes
                where codes.list_type = 'InventoryCode' and codes.code = template.inventory_code))
            and (template.expense_code is null or exists (select 1 from codes
                where codes.list_type = 'ExpenseCode' and codes.code = template.expense_code))
            as has_template_codes
    from described
    left join items as template on upper(described.template_number) = upper(template.item_number)
),

decided as (
    select
        templated.*,
        quantity - quantity_cancelled as open_quantity,
        case
            when is_cancelled or quantity - quantity_cancelled <= 0 then 'skip'
            when erp_item_number is not null then 'item'
            when item_identifier is not null and length(item_identifier) <= 30
                and has_template and has_template_codes then 'create-item'
            else 'error-item'
        end as line_action,
        case
            when is_cancelled or quantity - quantity_cancelled <= 0 then null
            when erp_item_number is not null then null
            when item_identifier is null or length(item_identifier) > 30
                then 'order-line-item-unusable'
            when not has_template then 'item-template-missing'
            when not has_template_codes then 'item-template-codes-missing'
        end as finding_code
    from templated
),

final as (
    select
        line_id,
        order_id,
        sequence_number,
        item_identifier,
        product_type,
        item_product_class as product_class,
        line_action,
        finding_code,
        case line_action
            when 'item' then erp_item_number
            when 'create-item' then item_identifier
            when 'error-item' then '{{ error_item }}'
        end as erp_item,
        template_number,
        has_template,
        has_template_codes,
        template_item_kind,
        template_sales_code,
        template_inventory_code,
        template_expense_code,
        coalesce(catalog_description, description, item_identifier) as item_description,
        left(
            case when is_drop_ship then '[Drop ship] ' else '' end
            || case when line_action = 'error-item' then coalesce(item_identifier, '?') || ': '
                else '' end
            || coalesce(description, catalog_description, item_identifier, ''),
            255
        ) as line_description,
        is_drop_ship,
        is_cancelled,
        cancelled_reason,
        billable_option,
        open_quantity as quantity,
        case when billable_option = 'Billable' then price else 0 end as unit_price,
        open_quantity * case when billable_option = 'Billable' then price else 0 end as amount,
        case when line_action <> 'skip' then row_number() over (
            partition by order_id, line_action = 'skip' order by sequence_number, line_id
        ) end as line_order
    from decided
)

select * from final
