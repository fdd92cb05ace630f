"""The five flows, in the order they must run: customers first, because their mapping
feeds every other flow."""

FLOWS = {
    "customer-sync": "flows.customer_sync.flow:customer_sync",
    "agreement-sync": "flows.agreement_sync.flow:agreement_sync",
    "service-sync": "flows.service_sync.flow:service_sync",
    "sales-order-sync": "flows.sales_order_sync.flow:sales_order_sync",
    "charge-import": "flows.charge_import.flow:charge_import",
}


def cycle(config: str) -> dict:
    """Every flow once, in order, on the configuration at ``config``: name -> its run."""
    import importlib

    runs = {}
    for name, target in FLOWS.items():
        module, function = target.split(":")
        runs[name] = getattr(importlib.import_module(module), function)(config=config)
    return runs
