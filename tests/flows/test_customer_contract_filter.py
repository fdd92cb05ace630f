"""customer-sync with ``contract_types`` against the emulators: contracts are read only
when the filter is set, and a customer without an active contract of those types is
listed as excluded with the rule that excluded it."""

import pytest

from crosswalk.config import load_settings
from crosswalk.warehouse import Warehouse
from flows.customer_sync.flow import customer_sync, reads


def test_contracts_are_read_only_when_contract_types_filters(make_config, tmp_path):
    entities, models = reads(load_settings(make_config(tmp_path)))
    assert "eautomate.contracts" not in map(str, entities)
    assert "stg_eautomate__contracts" not in models
    (tmp_path / "filtered").mkdir()
    section = '[flows.customer_sync]\ncontract_types = ["MPS"]\n'
    filtered = make_config(tmp_path / "filtered", **{"flows.customer_sync": section})
    entities, models = reads(load_settings(filtered))
    assert "eautomate.contracts" in map(str, entities)
    assert "stg_eautomate__contracts" in models


@pytest.mark.flow
def test_customers_without_an_active_contract_of_the_types_are_excluded(
    prefect_server, emulated, tmp_path, credentials
):
    (kind,) = emulated.store.one(
        "SELECT doc->>'$.ContractType' FROM eautomate.contracts "
        "WHERE doc->>'$.Status' = 'Active' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    )
    config = tmp_path / "crosswalk.toml"
    config.write_text(
        emulated.config.read_text(encoding="utf-8").replace(
            "[flows.customer_sync]\n", f'[flows.customer_sync]\ncontract_types = ["{kind}"]\n'
        ),
        encoding="utf-8",
    )
    run = customer_sync(config=str(config))
    assert run.status == "completed"
    assert "contracts" in [r.entity for r in run.landed if r.read]
    reason = f"no active contract of type {kind} (flows.customer_sync.contract_types)"
    with Warehouse(tmp_path / "warehouse.duckdb").connect(read_only=True) as con:
        rows = con.execute(
            "SELECT m.exclusion_reason = ?, EXISTS (SELECT 1 "
            "  FROM staging.stg_eautomate__contracts c "
            "  WHERE m.customer_number IN (c.customer_number, c.bill_to_number) "
            "  AND c.is_active AND NOT c.is_template AND c.contract_type = ? "
            "  AND coalesce(c.start_date, current_date) <= current_date "
            "  AND coalesce(c.expiration_date, current_date) >= current_date) "
            "FROM marts.mapped_customers m "
            "WHERE m.exclusion_reason IS NULL OR m.exclusion_reason = ?",
            [reason, kind, reason],
        ).fetchall()
    excluded = [has for is_excluded, has in rows if is_excluded]
    kept = [has for is_excluded, has in rows if not is_excluded]
    assert excluded and kept
    assert not any(excluded) and all(kept)
