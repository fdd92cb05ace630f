-- One row per PSA agreement with an invoice to sync: the ERP contract it goes to (or
-- would be made), what differs, and what the next agreement-sync does with it:
--   create  - a new contract from the template "**CW <type>", else default_template;
--   update  - the contract's lines (money) or fields differ from the invoice's;
--   in-sync - nothing to write;
--   waiting - something must be fixed first (waiting_code, waiting_reason): a company or
--             bill-to not mapped, no template, an item the ERP lacks, a ZCJ_ContractNumber
--             that names no contract or another customer's;
--   ended   - the agreement is cancelled or expired: no invoice is synced any more.
{%- set default_template = agreement_sync_setting('default_template', '**CW Default') %}
{%- set invoice_in = agreement_sync_setting('invoice_number_in', 'po') %}

with

matched as (
    select * from {{ ref('int_agreement_contracts_matched') }}
),

planned as (
    select * from {{ ref('int_agreement_lines_planned') }}
),

contracts as (
    select * from {{ ref('stg_eautomate__contracts') }}
),

templates as (
    select contract_number as template_number
    from contracts
    where is_template
),

current_lines as (
    select
        contract_id,
        string_agg(
            line.Item || ' | ' || cast(line.Quantity as decimal(18, 4)) || ' | '
                || cast(line.Rate as decimal(18, 4)),
            chr(10) order by line.LineNo
        ) as lines_text,
        sum(cast(line.Amount as decimal(18, 2))) as lines_total,
        count(*) as line_count
    from (
        select
            contract_id,
            unnest(from_json(coalesce(details, '[]'),
                '[{"LineNo": "INTEGER", "Item": "VARCHAR", "Quantity": "DOUBLE", '
                || '"Rate": "DOUBLE", "Amount": "DOUBLE"}]')) as line
        from contracts
    )
    group by contract_id
),

planned_lines as (
    select
        agreement_id,
        string_agg(
            item_number || ' | ' || quantity || ' | ' || rate,
            chr(10) order by line_kind <> 'base', line_order
        ) as lines_text,
        sum(psa_amount) as lines_total,
        count(*) as line_count,
        bool_and(is_item_known) as are_items_known,
        string_agg(distinct case when not is_item_known then item_number end, ', ')
            as missing_items
    from planned
    group by agreement_id
),

joined as (
    select
        matched.*,
        contract.contract_number as matched_contract_number,
        contract.status as contract_status,
        contract.customer_number as contract_customer_number,
        contract.bill_to_number as contract_bill_to_number,
        contract.po_number as contract_po_number,
        contract.remarks as contract_remarks,
        contract.start_date as contract_start_date,
        contract.expiration_date as contract_expiration_date,
        contract.cw_agreement_id_property as contract_agreement_property,
        coalesce(own.template_number, fallback.template_number) as template_number,
        own.template_number is null and fallback.template_number is not null
            as is_default_template,
        coalesce(planned_lines.lines_text, '') as planned_lines_text,
        coalesce(planned_lines.lines_total, 0) as planned_total,
        coalesce(planned_lines.line_count, 0) as planned_line_count,
        coalesce(planned_lines.are_items_known, true) as are_items_known,
        planned_lines.missing_items,
        current_lines.lines_text as current_lines_text,
        coalesce(current_lines.lines_total, 0) as current_total,
        -- A contract terminated in the ERP while its agreement is live no longer decides;
        -- the next revision takes the invoice unless the terminated one already holds it.
        contract.status = 'Terminated' and not matched.is_ended as is_terminated,
        {%- if invoice_in == 'remarks' %}
        coalesce(contract.remarks, '') like '%' || matched.invoice_number || '%'
        {%- else %}
        contract.po_number is not distinct from matched.invoice_number
        {%- endif %}
            as holds_invoice
    from matched
    left join contracts as contract on matched.matched_contract_id = contract.contract_id
    left join templates as own on own.template_number = '**CW ' || matched.agreement_type
    left join templates as fallback on fallback.template_number = '{{ default_template }}'
    left join planned_lines on matched.agreement_id = planned_lines.agreement_id
    left join current_lines on matched.matched_contract_id = current_lines.contract_id
),

decided as (
    select
        *,
        case
            when is_ended then null
            when waiting_code is not null then waiting_code
            when match_rule = 'field' then finding_code
            when not are_items_known then 'contract-item-missing'
            when (matched_contract_id is null or is_terminated) and template_number is null
                then 'contract-template-missing'
        end as blocked_code,
        matched_contract_id is null or (is_terminated and not holds_invoice) as is_new
    from joined
),

final as (
    select
        agreement_id,
        agreement_name,
        agreement_type,
        agreement_status,
        is_ended,
        company_id,
        company_identifier,
        company_name,
        bill_to_company_id,
        bill_to_identifier,
        bill_to_name,
        customer_number,
        bill_to_number,
        invoice_id,
        invoice_number,
        invoice_date,
        billing_status,
        agreement_amount,
        product_total,
        agreement_amount + product_total as psa_amount,
        contract_number_field,
        contract_number_field_id,
        finding_code as field_finding_code,
        named_customer_number as field_contract_customer_number,
        match_rule,
        link_target,
        linked_by,
        linked_at,
        matched_contract_id,
        matched_contract_number,
        contract_status,
        is_terminated,
        holds_invoice,
        case when is_new then next_contract_number else matched_contract_number end
            as contract_number,
        case when is_new then null else matched_contract_id end as contract_id,
        template_number,
        is_default_template and is_new as is_default_template,
        planned_lines_text,
        planned_line_count,
        planned_total,
        case when is_new then null else current_lines_text end as current_lines_text,
        case when is_new then 0 else current_total end as current_total,
        contract_po_number,
        contract_remarks,
        contract_bill_to_number,
        contract_start_date,
        contract_expiration_date,
        contract_agreement_property,
        cycle_months,
        start_date,
        end_date,
        case
            when is_ended then 'ended'
            when blocked_code is not null then 'waiting'
            when is_new then 'create'
            -- terminated, and already holding this invoice: the next one makes a revision
            when is_terminated then 'in-sync'
            when current_lines_text is distinct from planned_lines_text
                or contract_bill_to_number is distinct from bill_to_number
                or not holds_invoice
                or contract_start_date is distinct from start_date
                or contract_expiration_date is distinct from end_date
                then 'update'
            else 'in-sync'
        end as action,
        blocked_code as waiting_code,
        case blocked_code
            when 'agreement-company-unmapped'
                then 'company ' || coalesce(company_identifier, cast(company_id as varchar))
                    || ' is not mapped to an ERP customer'
            when 'agreement-bill-to-unmapped'
                then 'bill-to company '
                    || coalesce(bill_to_identifier, cast(bill_to_company_id as varchar))
                    || ' is not mapped to an ERP customer'
            when 'contract-number-unknown'
                then 'ZCJ_ContractNumber names contract ' || contract_number_field
                    || ', which e-automate does not have'
            when 'contract-number-other-customer'
                then 'ZCJ_ContractNumber names contract ' || contract_number_field
                    || ', which is not customer ' || coalesce(customer_number, '?') || '''s'
            when 'contract-item-missing'
                then 'e-automate has no item ' || missing_items
            when 'contract-template-missing'
                then 'e-automate has neither template **CW ' || agreement_type
                    || ' nor {{ default_template }}'
        end as waiting_reason,
        -- Where the link is written back, when missing or different: the contract number
        -- into the agreement's ZCJ_ContractNumber, the agreement id into the contract's
        -- ZCJ_CW_AgreementID.
        contract_number_field
            is distinct from case when is_new then next_contract_number
                else matched_contract_number end as is_field_stale,
        not is_new and contract_agreement_property is distinct from agreement_id
            as is_property_stale
    from decided
)

select * from final
