-- Everything about the agreement sync a person may need to act on, one row per agreement
-- and code: what waits and why, ZCJ_ContractNumber naming no contract or another
-- customer's, contracts terminated while their agreement is live, agreements ended while
-- their contract is Active, and contracts made from the default template.
{%- set default_template = agreement_sync_setting('default_template', '**CW Default') %}

with

synced as (
    select * from {{ ref('agreement_contract_sync') }}
),

findings as (
    select agreement_id, waiting_code as code, waiting_reason as finding
    from synced
    where action = 'waiting'
    union all
    select
        agreement_id,
        field_finding_code as code,
        'ZCJ_ContractNumber names ' || contract_number_field
            || case field_finding_code
                when 'contract-number-unknown' then ', which e-automate does not have'
                else ', a contract of customer ' || coalesce(field_contract_customer_number, '?')
            end as finding
    from synced
    where field_finding_code is not null and action <> 'waiting'
    union all
    select
        agreement_id,
        'contract-terminated' as code,
        'contract ' || matched_contract_number || ' was terminated in e-automate while the '
            || 'agreement is ' || agreement_status as finding
    from synced
    where is_terminated
    union all
    select
        agreement_id,
        'agreement-ended-contract-active' as code,
        'the agreement is ' || agreement_status || ' but contract ' || matched_contract_number
            || ' is Active' as finding
    from synced
    where action = 'ended' and contract_status = 'Active'
    union all
    select
        agreement_id,
        'template-missing' as code,
        'no template **CW ' || agreement_type || ': the contract is made from '
            || '{{ default_template }}' as finding
    from synced
    where is_default_template
),

final as (
    select
        findings.agreement_id,
        synced.agreement_name,
        synced.contract_number,
        findings.code,
        findings.finding
    from findings
    inner join synced on findings.agreement_id = synced.agreement_id
)

select * from final
