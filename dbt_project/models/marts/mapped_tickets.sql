-- The analyst's view of the service sync: each selected ticket, its ERP call, its state
-- and why, and since when the call holds it.

with

sync as (
    select * from {{ ref('service_call_sync') }}
),

calls as (
    select * from {{ ref('stg_eautomate__calls') }}
),

final as (
    select
        sync.ticket_id,
        sync.summary,
        sync.board,
        sync.status,
        sync.company_id,
        sync.company_identifier,
        sync.customer_number,
        sync.call_customer_number,
        sync.latest_call_number as call_number,
        calls.status_code as call_status,
        sync.contract_number,
        sync.contract_rule,
        calls.created_at as call_since,
        case sync.action
            when 'in-sync' then 'in-sync'
            when 'waiting' then 'waiting'
            when 'skipped' then 'skipped'
            else 'to-sync'
        end as state,
        case sync.action
            when 'waiting' then sync.waiting_code
            when 'skipped' then sync.skip_code
        end as reason_code,
        sync.action as next_action,
        sync.psa_hours,
        sync.erp_hours
    from sync
    left join calls on sync.latest_call_number = calls.call_number
)

select * from final
