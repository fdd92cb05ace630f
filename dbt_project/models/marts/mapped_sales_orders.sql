-- Every PSA sales order the sync looks at, with its ERP order and where it stands: for
-- analysts and for "why did this order not arrive?".
with

synced as (
    select * from {{ ref('sales_order_sync') }}
),

final as (
    select
        order_id,
        order_status,
        order_date,
        company_id,
        company_identifier,
        company_name,
        customer_number,
        bill_to_number,
        ship_to_number,
        so_number,
        erp_status,
        erp_hold_code,
        action,
        case action
            when 'waiting' then case waiting_code
                when 'order-company-unmapped' then 'its company is not mapped to an ERP customer'
                else 'its bill-to company is not mapped to an ERP customer'
            end
            when 'create' then 'no ERP order carries its key yet'
            when 'update' then case
                when planned_lines_text is distinct from coalesce(current_lines_text, '')
                    then 'the open ERP order''s lines differ'
                else 'the open ERP order''s error-item hold ' || erp_hold_code
                    || ' is no longer needed'
            end
            when 'final-changed' then 'the ERP order is ' || erp_status
                || ' and its lines differ: never changed'
            else 'the ERP order holds its lines'
        end as reason,
        waiting_code,
        planned_total as psa_total,
        current_total as erp_total,
        current_total is not null and current_total = planned_total as is_money_in_agreement,
        line_count,
        skipped_lines,
        error_lines,
        drop_ship_lines,
        planned_hold_code
    from synced
)

select * from final
