"""World sizes: small for tests, medium for the demo, large for benchmarks."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    customers: int  # ERP parent customers (the dealer's own record included)
    locations: int  # ERP locations (child customers)
    prospects: int  # PSA companies with no ERP customer: prospects ...
    vendors: int  # ... and vendors
    members: int  # PSA members (technicians, sales, managers, API members)
    erp_only_technicians: int  # ERP technicians with no PSA member
    agreements: int
    tickets: int  # service tickets
    time_entries: int  # on service tickets (approximate: drawn per ticket)
    projects: int
    project_tickets: int
    sales_orders: int
    invoice_periods: int  # agreement invoices kept per agreement: the latest billing periods
    ticket_audit_share: float  # share of tickets with audit-trail entries


SCALES: dict[str, Scale] = {
    scale.name: scale
    for scale in (
        Scale(
            name="small",
            customers=120,
            locations=250,
            prospects=12,
            vendors=6,
            members=28,
            erp_only_technicians=3,
            agreements=100,
            tickets=1_000,
            time_entries=2_500,
            projects=8,
            project_tickets=60,
            sales_orders=40,
            invoice_periods=3,
            ticket_audit_share=1.0,
        ),
        Scale(
            name="medium",
            customers=1_500,
            locations=3_500,
            prospects=120,
            vendors=30,
            members=90,
            erp_only_technicians=6,
            agreements=2_000,
            tickets=20_000,
            time_entries=60_000,
            projects=80,
            project_tickets=800,
            sales_orders=600,
            invoice_periods=3,
            ticket_audit_share=0.5,
        ),
        Scale(
            name="large",
            customers=20_000,
            locations=50_000,
            prospects=1_500,
            vendors=200,
            members=600,
            erp_only_technicians=30,
            agreements=30_000,
            tickets=1_000_000,
            time_entries=3_000_000,
            projects=1_200,
            project_tickets=20_000,
            sales_orders=10_000,
            invoice_periods=3,
            ticket_audit_share=0.1,
        ),
    )
}
