-- Which ERP contract each agreement's invoice goes to, and why. In order:
--   1. a link in sync.links (an operator's, or one crosswalk made);
--   2. the contract whose ZCJ_CW_AgreementID property is the agreement id (a live one
--      before a terminated one, then the latest revision);
--   3. the contract the agreement's ZCJ_ContractNumber custom field names (full number
--      with revision), when it is the agreement's customer's; naming no contract or
--      another customer's is a finding, never a second contract;
--   4. the contract numbered <prefix>-<agreement id>-<revision> of the agreement's customer
--      (what the incumbent and crosswalk number them; a live one before a terminated one,
--      then the latest revision);
--   5. else a new contract, numbered <prefix>-<agreement id>-<next revision>.
-- A broken link (an operator's unlink, or a contract found Terminated while its agreement
-- is live) takes its contract out of every rule: another one is found, or the next
-- revision is made (a terminated one's, unless it already holds this invoice).
{%- set prefix = agreement_sync_setting('contract_prefix', 'CW') %}

with

mapped as (
    select * from {{ ref('int_agreements_mapped') }}
),

contracts as (
    select
        *,
        try_cast(regexp_extract(contract_number, '-(\d+)$', 1) as integer) as revision
    from {{ ref('stg_eautomate__contracts') }}
    where not is_template
),

agreement_links as (
    select * from {{ ref('stg_sync__links') }}
    where link_kind = 'agreement'
),

links as (
    select * from agreement_links
    where broken_at is null
),

-- The contract of each broken link: out of every rule for its agreement.
broken as (
    select cast(source_key as bigint) as agreement_id, upper(target_key) as contract_number
    from agreement_links
    where broken_at is not null
),

by_property as (
    select
        cw_agreement_id_property as agreement_id,
        contract_id,
        row_number() over (
            partition by cw_agreement_id_property
            order by status = 'Terminated', revision desc nulls last, contract_id desc
        ) as preference
    from contracts
    where cw_agreement_id_property is not null
        and not exists (
            select 1 from broken
            where broken.agreement_id = contracts.cw_agreement_id_property
                and broken.contract_number = upper(contracts.contract_number)
        )
),

-- The contracts numbered for an agreement, <prefix>-<agreement id>-<revision>.
numbered_contracts as (
    select
        try_cast(regexp_extract(contract_number, '^{{ prefix }}-(\d+)-\d+$', 1) as bigint)
            as agreement_id,
        *
    from contracts
    where regexp_matches(contract_number, '^{{ prefix }}-\d+-\d+$')
),

numbered as (
    select agreement_id, max(revision) as last_revision
    from numbered_contracts
    group by 1
),

by_number as (
    select
        agreement_id,
        customer_number,
        contract_id,
        row_number() over (
            partition by agreement_id, customer_number
            order by status = 'Terminated', revision desc nulls last, contract_id desc
        ) as preference
    from numbered_contracts
    where not exists (
        select 1 from broken
        where broken.agreement_id = numbered_contracts.agreement_id
            and broken.contract_number = upper(numbered_contracts.contract_number)
    )
),

candidates as (
    select
        mapped.*,
        links.target_key as link_target,
        links.made_by as linked_by,
        links.linked_at,
        coalesce(linked.contract_id, property.contract_id) as found_contract_id,
        named.contract_id as named_contract_id,
        named.customer_number as named_customer_number,
        named_broken.agreement_id is not null as is_field_broken,
        by_number.contract_id as numbered_contract_id,
        numbered.last_revision
    from mapped
    left join links on cast(mapped.agreement_id as varchar) = links.source_key
    left join contracts as linked on upper(links.target_key) = upper(linked.contract_number)
    left join by_property
        on mapped.agreement_id = by_property.agreement_id and by_property.preference = 1
    left join contracts as property on by_property.contract_id = property.contract_id
    left join contracts as named
        on upper(trim(mapped.contract_number_field)) = upper(named.contract_number)
    left join broken as named_broken
        on mapped.agreement_id = named_broken.agreement_id
        and upper(trim(mapped.contract_number_field)) = named_broken.contract_number
    left join by_number
        on mapped.agreement_id = by_number.agreement_id
        and mapped.customer_number = by_number.customer_number
        and by_number.preference = 1
    left join numbered on mapped.agreement_id = numbered.agreement_id
),

ruled as (
    select
        candidates.*,
        case
            when link_target is not null and found_contract_id is not null then 'link'
            when found_contract_id is not null then 'property'
            when contract_number_field is not null and not is_field_broken then 'field'
            when numbered_contract_id is not null then 'number'
            else 'new'
        end as match_rule
    from candidates
),

final as (
    select
        ruled.* exclude (found_contract_id, named_contract_id, numbered_contract_id),
        case
            when match_rule in ('link', 'property') then found_contract_id
            when match_rule = 'field' then named_contract_id
            when match_rule = 'number' then numbered_contract_id
        end as matched_contract_id,
        -- What ZCJ_ContractNumber says, when it names no contract or another customer's:
        -- a finding; it keeps the agreement waiting only when nothing else links it.
        case
            when contract_number_field is null then null
            when named_contract_id is null then 'contract-number-unknown'
            when named_customer_number is distinct from customer_number
                then 'contract-number-other-customer'
        end as finding_code,
        '{{ prefix }}-' || agreement_id || '-'
            || lpad(cast(coalesce(last_revision, 0) + 1 as varchar), 2, '0') as next_contract_number
    from ruled
)

select * from final
