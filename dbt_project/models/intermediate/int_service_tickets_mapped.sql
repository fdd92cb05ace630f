-- Each selected ticket beside what its ERP call takes: the customer mapped to its company
-- (the location mapped to its site, when there is one), the technician, the contract and
-- the codes. The contract is the one linked to the ticket's agreement (the agreement
-- sync's link, else the contract whose ZCJ_CW_AgreementID names it); else the customer's
-- only active contract; else flows.service_sync.contract_fallback; never a terminated or
-- expired one. A project ticket's call goes on no contract: the project bills its own
-- invoices. A ticket whose company is not mapped waits, with the reason.
{{ config(materialized='table') }}  {#- as a view inlined in service_call_sync, the large world's build outgrew the warehouse's memory_limit #}
{%- set fallback = service_sync_setting('contract_fallback', none) %}

with

selected as (
    select * from {{ ref('int_service_tickets_selected') }}
),

companies as (
    select * from {{ ref('stg_connectwise__companies') }}
),

members as (
    select * from {{ ref('stg_connectwise__members') }}
),

customers as (
    select * from {{ ref('int_company_customers') }}
),

locations as (
    select * from {{ ref('int_site_locations') }}
),

-- Contracts a call may go on: active, not expired.
contracts as (
    select * from {{ ref('stg_eautomate__contracts') }}
    where not is_template and is_active
        and (expiration_date is null or expiration_date >= current_date)
),

agreement_links as (
    select cast(source_key as bigint) as agreement_id, upper(target_key) as contract_number
    from {{ ref('stg_sync__links') }}
    where link_kind = 'agreement' and broken_at is null and target_key <> ''
),

agreement_contracts as (
    select
        coalesce(agreement_links.agreement_id, contracts.cw_agreement_id_property)
            as agreement_id,
        min(contracts.contract_number) as contract_number
    from contracts
    left join agreement_links on upper(contracts.contract_number) = agreement_links.contract_number
    where coalesce(agreement_links.agreement_id, contracts.cw_agreement_id_property) is not null
    group by 1
),

only_contracts as (
    select customer_number, min(contract_number) as contract_number
    from contracts
    group by customer_number
    having count(*) = 1
),

-- The technician of the call: the owner's, else the first one on the ticket's time.
first_technicians as (
    select ticket_id, arg_min(technician_number, started_at) as technician_number
    from {{ ref('int_service_time_planned') }}
    where technician_number is not null
    group by ticket_id
),

technicians as (
    select * from {{ ref('stg_eautomate__technicians') }}
),

erp_customers as (
    select * from {{ ref('stg_eautomate__customers') }}
),

-- Tickets an operator moved to an ERP customer (crosswalk tickets move).
moves as (
    select cast(source_key as bigint) as ticket_id, target_key as customer_number, linked_at
    from {{ ref('stg_sync__links') }}
    where link_kind = 'ticket' and broken_at is null
),

-- The customer (or location) the call is for: the one an operator moved the ticket to,
-- else the location mapped to its site, else the customer mapped to its company.
call_customers as (
    select
        selected.ticket_id,
        moves.customer_number is not null as is_moved,
        case
            when moves.customer_number is not null
                then coalesce(moved.parent_customer_number, moved.customer_number, moves.customer_number)
            else customer.customer_number
        end as customer_number,
        coalesce(
            moves.customer_number,
            case when location.parent_customer_number = customer.customer_number
                then location.location_number end,
            customer.customer_number
        ) as call_customer_number
    from selected
    left join customers as customer on selected.company_id = customer.company_id
    left join locations as location on selected.site_id = location.site_id
    left join moves on selected.ticket_id = moves.ticket_id
    left join erp_customers as moved on moves.customer_number = moved.customer_number
),

final as (
    select
        selected.ticket_id,
        selected.summary,
        selected.board,
        selected.status,
        selected.ticket_type,
        selected.is_closed,
        selected.closed_at,
        selected.entered_at,
        selected.company_id,
        companies.identifier as company_identifier,
        companies.company_name,
        selected.site_id,
        selected.agreement_id,
        selected.contact_name,
        left(selected.po_number, 15) as po_number,
        selected.external_x_ref,
        selected.time_entries,
        selected.actual_hours,
        selected.skip_code,
        selected.is_project,
        selected.project_id,
        selected.phase_id,
        call_customer.customer_number,
        call_customer.call_customer_number,
        call_customer.is_moved,
        coalesce(owner_technician.technician_number, first_technicians.technician_number)
            as technician_number,
        case
            when selected.is_project then null
            when agreement_contract.contract_number is not null then agreement_contract.contract_number
            when only_contract.contract_number is not null then only_contract.contract_number
            else {{ quoted(fallback) if fallback else 'null' }}
        end as contract_number,
        case
            when selected.is_project then 'project'
            when agreement_contract.contract_number is not null then 'agreement'
            when only_contract.contract_number is not null then 'only-contract'
            {%- if fallback %}
            else 'fallback'
            {%- endif %}
        end as contract_rule,
        {{ code_by('selected.board', service_sync_setting('call_types', {}),
                   service_sync_setting('call_type', 'IT')) }} as call_type,
        coalesce(
            {{ code_by('selected.ticket_type', service_sync_setting('bill_codes', {}), none) }},
            case when agreement_contract.contract_number is not null and not selected.is_project
                then {{ quoted(service_sync_setting('bill_code_agreement', 'CONTRACT')) }}
                else {{ quoted(service_sync_setting('bill_code', 'T&M')) }}
            end
        ) as bill_code,
        '[CW #' || selected.ticket_id || '] ' || selected.summary as description,
        case
            when call_customer.customer_number is null then 'ticket-company-unmapped'
            when erp_customer.customer_number is null then 'ticket-moved-customer-unknown'
            when not erp_customer.is_active then 'customer-inactive'
        end as waiting_code
    from selected
    left join companies on selected.company_id = companies.company_id
    inner join call_customers as call_customer on selected.ticket_id = call_customer.ticket_id
    left join erp_customers as erp_customer
        on call_customer.call_customer_number = erp_customer.customer_number
    left join agreement_contracts as agreement_contract
        on selected.agreement_id = agreement_contract.agreement_id
    left join only_contracts as only_contract
        on call_customer.customer_number = only_contract.customer_number
    left join members as owner on lower(selected.owner_identifier) = lower(owner.member_identifier)
    left join technicians as owner_technician
        on lower(owner.technician_number) = lower(owner_technician.technician_number)
    left join first_technicians on selected.ticket_id = first_technicians.ticket_id
)

select * from final
