"""Customer matching on the seeded world, judged against the world's own truth: what the
rules link is right, and every planted wrong link is a finding, not a link."""

import pytest

from crosswalk.warehouse import Warehouse
from flows.customer_sync.flow import customer_sync

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def matched(emulated, tmp_path_factory, prefect_server):
    import os

    from emulators.serve import CREDENTIALS

    os.environ.update(CREDENTIALS)
    folder = tmp_path_factory.mktemp("matching")
    config = folder / "crosswalk.toml"
    config.write_text(emulated.config.read_text(encoding="utf-8"), encoding="utf-8")
    customer_sync(config=str(config))
    with Warehouse(folder / "warehouse.duckdb").connect(read_only=True) as con:
        rows = con.execute(
            "SELECT customer_number, company_id, match_rule, finding_code FROM "
            "marts.mapped_customers"
        ).fetchall()
    truth = dict(
        emulated.store.query(
            "SELECT customer_number, cw_company_id FROM world.customers "
            "WHERE parent_customer_id IS NULL"
        )
    )
    cases = {}
    for number, case in emulated.store.query(
        "SELECT c.customer_number, k.case_name FROM world.cases k "
        "JOIN world.customers c ON k.entity = 'customers' AND k.id = c.customer_id"
    ):
        cases.setdefault(number, set()).add(case)
    return {r[0]: r[1:] for r in rows}, truth, cases


def test_every_link_made_is_the_true_company(matched):
    rows, truth, _ = matched
    wrong = {n: (c, truth.get(n)) for n, (c, _, _) in rows.items() if c and c != truth.get(n)}
    assert wrong == {}


def test_most_customers_with_a_company_are_linked(matched):
    rows, truth, _ = matched
    with_company = [n for n, company in truth.items() if company]
    linked = [n for n in with_company if rows[n][0] == truth[n]]
    assert len(linked) / len(with_company) > 0.9


@pytest.mark.parametrize(
    ("case", "codes"),
    [
        ("customer_property_deleted_company", {"link-deleted-company"}),
        ("customer_property_unknown_company", {"link-unknown-company"}),
        (
            "customer_property_wrong_company",
            {"link-names-another-customer", "company-claimed-twice"},
        ),
    ],
)
def test_planted_wrong_links_are_findings(matched, case, codes):
    rows, _, cases = matched
    carriers = [n for n, found in cases.items() if case in found]
    assert carriers
    assert {n: rows[n][2] for n in carriers if rows[n][2] not in codes} == {}


def test_each_rule_links_the_customers_it_is_for(matched, emulated):
    """Without a property, the number in the company's identifier or account number links;
    with one, the property does; every one of them to the true company."""
    rows, truth, cases = matched
    key_of = dict(emulated.store.query(
        "SELECT c.customer_number, k.case_name FROM world.cases k JOIN world.customers c "
        "ON k.entity = 'companies' AND k.id = c.cw_company_id "
        "WHERE k.case_name IN ('company_key_in_identifier', 'company_key_in_account_number')"
    ))  # fmt: skip
    expected = {"company_key_in_identifier": "company_identifier",
                "company_key_in_account_number": "account_number"}  # fmt: skip
    by_rule = {}
    for number, (company, rule, finding) in rows.items():
        if finding is None and company is not None:
            by_rule.setdefault(rule, set()).add(number)
            assert company == truth[number], number
    without_property = {n for n, found in cases.items() if "customer_property_missing" in found}
    checked = [n for n in without_property if n in key_of and rows[n][2] is None]
    assert {key_of[n] for n in checked} == set(expected)
    assert {n: rows[n][1] for n in checked} == {n: expected[key_of[n]] for n in checked}
    assert {"company_identifier", "account_number", "custom_property"} <= set(by_rule)
