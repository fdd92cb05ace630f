-- The analyst's view of the agreement sync: each PSA agreement with an invoice to sync
-- beside its ERP contract, how they were linked and since when, the invoice the contract
-- holds, both sides' money, and why it waits when it does.

with

synced as (
    select * from {{ ref('agreement_contract_sync') }}
),

contracts as (
    select * from {{ ref('stg_eautomate__contracts') }}
),

final as (
    select
        synced.agreement_id,
        synced.agreement_name,
        synced.agreement_type,
        synced.agreement_status,
        synced.company_id,
        synced.company_identifier,
        synced.customer_number,
        synced.bill_to_number,
        synced.contract_id,
        synced.contract_number,
        contracts.status as contract_status,
        synced.match_rule,
        coalesce(synced.linked_by, case when synced.match_rule <> 'new' then 'rule' end)
            as linked_by,
        coalesce(synced.linked_at, contracts.created_at) as linked_since,
        synced.invoice_number as latest_invoice_number,
        synced.invoice_date as latest_invoice_date,
        case
            when synced.holds_invoice then synced.invoice_number
            else synced.contract_po_number
        end as synced_invoice_number,
        synced.psa_amount,
        case when synced.contract_id is not null then synced.current_total end as erp_amount,
        synced.action = 'in-sync' and synced.current_total = synced.psa_amount as is_in_agreement,
        synced.action as next_action,
        synced.waiting_code,
        synced.waiting_reason
    from synced
    left join contracts on synced.contract_id = contracts.contract_id
)

select * from final
