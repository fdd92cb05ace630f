"""The awkward cases the world carries on purpose, and how many of each.

Every record that carries a case gets a row in ``world.cases``. An ``exact`` case is picked as a
quota of its population (``max(minimum, round(share * population))``, capped at the population),
so its count is known in advance; the others are drawn per record with about ``share`` as the
probability and are only guaranteed their ``minimum`` at small scale.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    name: str
    system: str  # connectwise | eautomate | operate
    entity: str  # the table whose ids the case rows hold
    share: float
    minimum: int
    exact: bool
    what: str


_CASES = (
    # ERP customers (world.customers.customer_id); population: parent customers but the dealer.
    Case("dealer_own_customer", "eautomate", "customers", 0, 1, True,
         "the dealer's own customer: the contract templates' customer, never synced"),
    Case("customer_without_company", "eautomate", "customers", 0.05, 3, True,
         "parent to sync with no PSA company yet"),
    Case("customer_sync_off", "eautomate", "customers", 0.03, 3, True,
         "ZCJ_SyncToCW = No; every other one still has the PSA company made before"),
    Case("customer_on_hold", "eautomate", "customers", 0.04, 2, True, "on hold, code CH"),
    Case("customer_inactive", "eautomate", "customers", 0.04, 2, True,
         "inactive in the ERP; its PSA company has status Inactive"),
    Case("customer_property_missing", "eautomate", "customers", 0.08, 3, True,
         "has a PSA company but no ZCJ_CW_CompanyID"),
    Case("customer_property_wrong_company", "eautomate", "customers", 0.02, 2, True,
         "ZCJ_CW_CompanyID holds another live company's id"),
    Case("customer_property_deleted_company", "eautomate", "customers", 0.5, 2, True,
         "ZCJ_CW_CompanyID holds the merged-away (deleted) company's id; share of merged"),
    Case("customer_property_unknown_company", "eautomate", "customers", 0.01, 2, True,
         "ZCJ_CW_CompanyID holds an id no company has (purged)"),
    # ERP locations (world.customers rows with a parent).
    Case("location_own_number", "eautomate", "customers", 0.15, 3, True,
         "location numbered on its own, not <parent>-NN"),
    Case("location_without_site", "eautomate", "customers", 0.08, 3, True,
         "location of a linked parent with no PSA site yet"),
    Case("site_property_missing", "eautomate", "customers", 0.06, 3, True,
         "location with a PSA site but no ZCJ_CW_SiteAddressRecID"),
    Case("site_property_wrong", "eautomate", "customers", 0.02, 2, True,
         "ZCJ_CW_SiteAddressRecID holds a site of another company"),
    # PSA companies; population: companies of linked parents unless said otherwise.
    Case("company_key_in_identifier", "connectwise", "companies", 0.72, 3, False,
         "ERP customer number is the Company ID (identifier): the rest"),
    Case("company_key_in_account_number", "connectwise", "companies", 0.15, 3, True,
         "number in accountNumber, identifier name-derived; merge survivors on top"),
    Case("company_key_in_neither", "connectwise", "companies", 0.08, 3, True,
         "number nowhere on the company; identifier name-derived"),
    Case("company_identifier_wrong_customer", "connectwise", "companies", 0.02, 2, True,
         "identifier holds another customer's number (one with no company)"),
    Case("company_merged_deleted", "connectwise", "companies", 0.03, 3, True,
         "merged away: deletedFlag, dateDeleted, deletedBy; lastUpdated older than the merge;"
         " identifier still the customer number"),
    Case("company_merge_survivor", "connectwise", "companies", 0.03, 3, True,
         "the company the customer truly is after the merge (number in accountNumber)"),
    Case("company_duplicate_name", "connectwise", "companies", 0.02, 4, True,
         "two customers, two companies, one name (rows come in pairs)"),
    Case("company_special_name", "connectwise", "companies", 0, 0, True,
         "quotes, ampersands, apostrophes, accents, markup, brackets, backslash (fixed list)"),
    Case("company_prospect", "connectwise", "companies", 0, 0, True,
         "prospect: no ERP customer (Scale.prospects)"),
    Case("company_vendor", "connectwise", "companies", 0, 0, True,
         "vendor: no ERP customer (Scale.vendors)"),
    Case("company_stale_address", "connectwise", "companies", 0.05, 3, True,
         "the ERP address moved on after the company's last update"),
    Case("company_phone_format", "connectwise", "companies", 0.10, 3, True,
         "same phone digits as the ERP, other punctuation"),
    Case("company_custom_fields", "connectwise", "companies", 0.30, 3, True,
         "customFields: Text, Checkbox and Number (integer) values"),
    Case("company_without_contacts", "connectwise", "companies", 0.05, 2, True,
         "client company with no contact"),
    Case("contact_inactive", "connectwise", "contacts", 0.05, 2, True, "inactiveFlag true"),
    # Members and technicians.
    Case("member_with_technician", "connectwise", "members", 0.75, 3, False,
         "technician member whose employeeIdentifer is its ERP technician number: the rest"),
    Case("member_without_technician", "connectwise", "members", 0.12, 2, True,
         "technician logging time, no technician number (ERP technician exists)"),
    Case("member_unknown_technician", "connectwise", "members", 0.05, 2, True,
         "employeeIdentifer holds a number the ERP does not know (typo)"),
    Case("member_api", "connectwise", "members", 0, 2, True,
         "API member (licenseClass A); one has no lastName"),
    Case("member_inactive", "connectwise", "members", 0.08, 2, True,
         "technician who left: inactiveFlag, inactiveDate; time entries before it only"),
    Case("technician_without_member", "eautomate", "technicians", 0, 0, True,
         "ERP technician with no PSA member (Scale.erp_only_technicians)"),
    # Agreements, additions, invoices.
    Case("agreement_type_without_template", "connectwise", "agreements", 0.17, 3, False,
         "agreement type with no **CW contract template in the ERP"),
    Case("agreement_cancelled", "connectwise", "agreements", 0.06, 3, True,
         "cancelledFlag, dateCancelled, agreementStatus Cancelled"),
    Case("agreement_expired", "connectwise", "agreements", 0.06, 3, True,
         "ended before the anchor, agreementStatus Expired"),
    Case("agreement_without_invoice", "connectwise", "agreements", 0.04, 2, False,
         "started after its last billing date: no invoice yet (at least the quota)"),
    Case("agreement_company_without_customer", "connectwise", "agreements", 0.01, 2, True,
         "agreement on a prospect: no ERP customer to hold the contract"),
    Case("agreement_bill_to_other_company", "connectwise", "agreements", 0.04, 2, True,
         "billToCompany (contact, site, its invoices' too) is another mapped company"),
    Case("agreement_contract_number_right", "connectwise", "agreements", 0.10, 2, True,
         "ZCJ_ContractNumber names the incumbent's contract, CW-<id>-01, which exists"),
    Case("agreement_contract_wrong_revision", "connectwise", "agreements", 0.01, 2, True,
         "ZCJ_ContractNumber names CW-<id>-02; the ERP holds CW-<id>-01 only"),
    Case("agreement_contract_other_customer", "connectwise", "agreements", 0.01, 2, True,
         "ZCJ_ContractNumber names a contract of another customer"),
    Case("addition_zero_billed", "connectwise", "additions", 0.05, 3, True,
         "quantity and extPrice but billedQuantity 0 (the ERP computes qty x price)"),
    Case("addition_cancelled", "connectwise", "additions", 0.05, 2, True,
         "cancelledDate set, agreementStatus Cancelled"),
    Case("addition_less_included", "connectwise", "additions", 0.05, 3, True,
         "lessIncluded part of the quantity: billedQuantity and extPrice are of the rest"),
    Case("invoice_down_payment", "connectwise", "invoices", 0, 2, False,
         "DownPayment invoice of a fixed-fee project (the incumbent never syncs these)"),
    # Tickets and time.
    Case("ticket_without_time", "connectwise", "tickets", 0.3, 3, False,
         "no time entry (about 25%, 80% on the Alerts board)"),
    Case("ticket_closed_without_time", "connectwise", "tickets", 0.28, 3, False,
         "closed (>Closed, >Cancelled, >Auto Closed) with no time entry"),
    Case("ticket_company_without_customer", "connectwise", "tickets", 0.03, 3, False,
         "on a prospect or vendor: no ERP customer"),
    Case("ticket_on_agreement", "connectwise", "tickets", 0.4, 3, False,
         "linked to an agreement active on the ticket's date"),
    Case("ticket_unmapped_technician", "connectwise", "tickets", 0.25, 3, False,
         "has time by a member with no known technician number"),
    Case("time_entry_overlap", "connectwise", "time_entries", 0.02, 2, False,
         "billable entry overlapping the same member's entry on the ticket (double billing)"),
    # What happened after the incumbent synced a ticket: picked by quota from a pool of its
    # closed tickets (service.py), the pool's size not known to the tests.
    Case("ticket_synced_by_incumbent", "connectwise", "tickets", 0.35, 2, False,
         "the incumbent's call [CW #<id>] exists; its labor lines carry no time-entry key"),
    Case("time_entry_after_call", "connectwise", "time_entries", 0.01, 2, False,
         "booked after the incumbent's call was made, not on its labor; the call is OKToInvoice"),
    Case("time_entry_after_invoiced_call", "connectwise", "time_entries", 0.01, 2, False,
         "booked after the incumbent's call was invoiced (Invoiced is final)"),
    # ERP calls opened to be worked in the PSA (ID912), after every other call.
    Case("call_for_psa", "eautomate", "calls", 0.005, 3, True,
         "open DISPATCH or METER call of a plainly mapped customer, no ticket yet; share of "
         "tickets, the first with a description longer than a ticket's summary"),
    Case("call_for_psa_unmapped", "eautomate", "calls", 0, 2, True,
         "open DISPATCH or METER call of a customer without a PSA company"),
    Case("ticket_moved_after_sync", "connectwise", "tickets", 0.005, 2, False,
         "moved to another company after its call was made: the call has the old customer"),
    Case("project_ticket_without_time", "connectwise", "project_tickets", 0.2, 2, False,
         "project ticket with no time entry"),
    Case("project_fixed_fee", "connectwise", "projects", 0.25, 2, True,
         "billingMethod FixedFee with billingAmount; a DownPayment invoice once started"),
    Case("project_billed_by_phase", "connectwise", "projects", 0.5, 1, True,
         "phases billSeparatelyFlag; Progress invoices applied to each done phase (quota of the"
         " fixed-fee projects and of the others, at least one of each)"),
    Case("project_billed_on_completion", "connectwise", "projects", 0.5, 2, False,
         "the rest: billProjectClosedFlag; one invoice applied to the project once closed"),
    Case("product_cancelled", "connectwise", "products", 0.04, 2, True,
         "cancelledFlag, quantityCancelled, cancelledReason"),
    Case("product_dropship", "connectwise", "products", 0.08, 2, True, "dropshipFlag true"),
    Case("catalog_item_without_erp_item", "connectwise", "refs", 0, 2, True,
         "PSA catalog item with no ERP item (refs kind catalog_item)"),
    Case("product_item_without_erp_item", "connectwise", "products", 0.08, 1, False,
         "order line whose catalog item the ERP lacks (USW-24P: its type's template has codes;"
         " FG-60F: its template has none, PATCH-24: no template, so the error item)"),
    Case("sales_order_customer_on_hold", "connectwise", "sales_orders", 0, 1, True,
         "the newest order, Ordered, of a customer on hold (code CH) in the ERP"),
    Case("sales_order_item_without_template", "connectwise", "sales_orders", 0, 1, True,
         "one more order, Ordered, of a plainly mapped customer: its one line is PATCH-24, an"
         " item the ERP lacks whose type (Cabling) has no item template, so the error item"),
    Case("sales_order_company_unmapped", "connectwise", "sales_orders", 0, 1, True,
         "one more order, Ordered, of a prospect (a company with no ERP customer): it waits"
         " until the company is mapped"),
    Case("sales_order_synced_by_incumbent", "connectwise", "sales_orders", 0.7, 2, False,
         "the incumbent's ERP order exists, its Description opening with [CW SO #<id>]"),
    # ERP contracts (eautomate.contracts.contract_id) and items (eautomate.items.item_id).
    Case("contract_template", "eautomate", "contracts", 0, 0, True,
         "**CW <agreement type> template, on the dealer's customer (world.contract_templates)"),
    Case("contract_template_default", "eautomate", "contracts", 0, 1, True,
         "**CW Default: the template of agreement types without one of their own"),
    Case("contract_template_misnamed", "eautomate", "contracts", 0, 1, True,
         "**CW Network Monitor: meant for Net Monitoring, but not its exact name"),
    Case("item_template", "eautomate", "items", 0, 0, True,
         "**CWBase <type>: the base-rate item on each template's only line"),
    Case("item_fixed_fee", "eautomate", "items", 0, 1, True,
         "CW-FIXEDFEE: the non-inventory part a fixed fee (or a phase's amount) is billed with"),
    Case("item_template_sales", "eautomate", "items", 0, 4, True,
         "**CWItem <product type>: an inactive item a missing sales-order item is made from"),
    Case("item_template_without_codes", "eautomate", "items", 0, 1, True,
         "**CWItem Security: no inventory, expense or sales code, so no item is made from it"),
    Case("item_error", "eautomate", "items", 0, 1, True,
         "**CWError: the item a sales-order line gets when its item cannot be made"),
    Case("contract_linked_to_agreement", "eautomate", "contracts", 0.95, 3, False,
         "the incumbent's CW-<agreement id>-01 with ZCJ_CW_AgreementID: the rest"),
    Case("contract_without_agreement_property", "eautomate", "contracts", 0.05, 2, True,
         "the incumbent's contract with no ZCJ_CW_AgreementID (only its number says)"),
    Case("contract_from_default_template", "eautomate", "contracts", 0.15, 2, False,
         "the incumbent made it from **CW Default: its agreement type has no template"),
    Case("contract_terminated_agreement_live", "eautomate", "contracts", 0.03, 2, True,
         "Terminated in the ERP, linked to an Active agreement the PSA still invoices"),
    Case("contract_active_agreement_ended", "eautomate", "contracts", 0.2, 2, True,
         "still Active while its agreement is Cancelled or Expired; share of those"),
    Case("contract_invoiced_before_sync", "eautomate", "contracts", 0.05, 2, True,
         "the ERP billed the latest PSA-invoiced month first: PO holds the previous invoice no."),
    Case("contract_billed_ahead", "eautomate", "contracts", 0.10, 2, True,
         "the ERP billed January, which the PSA has not invoiced; PO: the December invoice"),
    # The workspace operator's Operate accounts (workspace.py); population: accounts at
    # call-logger locations for the codes, at Connect locations for Send to Connect.
    Case("account_code_missing", "operate", "accounts", 0.03, 2, True,
         "its calls carry its code, Operate holds none: unmatched until the code is added"),
    Case("account_code_special", "operate", "accounts", 0.01, 2, True,
         "the call logger's code has a character Operate refuses (- / & .)"),
    Case("account_send_to_connect", "operate", "accounts", 0.08, 3, True,
         "send_to_connect_requested and no connect_client_id"),
    Case("account_client_unlinked", "operate", "accounts", 0, 1, True,
         "requested, but Connect already has a client with its billing reference"),
    Case("account_send_without_site", "operate", "accounts", 0, 1, True,
         "requested at a location without a Connect site"),
    Case("account_custom_type", "operate", "accounts", 0.15, 2, False,
         "a custom account type (Connect gets Residential)"),
)  # fmt: skip

CASES: dict[str, Case] = {case.name: case for case in _CASES}


def quota(name: str, population: int) -> int:
    """How many of ``population`` carry the exact case ``name``."""
    case = CASES[name]
    return min(population, max(case.minimum, round(case.share * population)))
