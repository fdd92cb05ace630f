"""customer-sync's sweep of every company id against the emulators: a company deleted
(merged) without a lastUpdated change, and one purged outright, are found; the links
to them are reported and marked broken, and a rerun changes nothing more."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from crosswalk.cli import app
from crosswalk.connectwise import ConnectWise
from crosswalk.errors import list_errors
from crosswalk.warehouse import Warehouse
from flows.customer_sync.flow import customer_sync
from flows.customer_sync.sweep import sweep_due

from ..conftest import CW_HEADERS

runner = CliRunner()
WIDE = {"terminal_width": 250}


def test_the_sweep_is_due_when_never_run_every_run_or_after_the_hours():
    now = datetime(2026, 1, 2, 12, tzinfo=UTC)
    assert sweep_due(None, 24, now)
    assert sweep_due((now - timedelta(minutes=1)).isoformat(), 0, now)
    assert not sweep_due((now - timedelta(hours=23)).isoformat(), 24, now)
    assert sweep_due((now - timedelta(hours=24)).isoformat(), 24, now)


def _merge_away(emulated, cw: ConnectWise, company_id: int) -> None:
    """DELETE through the API (a soft delete), then put lastUpdated back older than any
    read, as a merge in the PSA leaves it: an incremental read never sees the deletion."""
    cw.delete("company/companies", company_id)
    with emulated.store.write() as cur:
        (doc,) = cur.execute(
            "SELECT doc FROM connectwise.companies WHERE id = ?", [company_id]
        ).fetchone()
        doc = json.loads(doc)
        created = datetime.fromisoformat(doc["_info"]["dateEntered"].replace("Z", "+00:00"))
        older = created - timedelta(days=1)
        doc["_info"]["lastUpdated"] = f"{older:%Y-%m-%dT%H:%M:%SZ}"
        cur.execute(
            "UPDATE connectwise.companies SET last_updated = ?, doc = ? WHERE id = ?",
            [older.replace(tzinfo=None), json.dumps(doc), company_id],
        )


def _purge(emulated, company_id: int) -> None:
    """The record gone from the PSA altogether (the API has no hard delete of a company)."""
    with emulated.store.write() as cur:
        cur.execute("DELETE FROM connectwise.companies WHERE id = ?", [company_id])


@pytest.mark.flow
def test_deleted_and_purged_companies_break_their_links(
    prefect_server, emulated, cw_server, tmp_path, credentials
):
    config = tmp_path / "crosswalk.toml"
    config.write_text(
        emulated.config.read_text(encoding="utf-8").replace(
            "[flows.customer_sync]\n", "[flows.customer_sync]\nsweep_hours = 0\n"
        ),
        encoding="utf-8",
    )
    cw = ConnectWise(cw_server.url, "dealer", "demo-public", "demo-private", CW_HEADERS["clientId"])
    tag = uuid.uuid4().hex[:6].upper()
    merged = cw.create("company/companies", {"identifier": f"SWM{tag}", "name": f"Merged {tag}"})
    purged = cw.create("company/companies", {"identifier": f"SWP{tag}", "name": f"Purged {tag}"})
    first_number, second_number = [
        number
        for (number,) in emulated.store.query(
            "SELECT customer_number FROM world.customers WHERE parent_customer_id IS NULL "
            "ORDER BY customer_number LIMIT 2"
        )
    ]
    customer_sync(config=str(config))
    for number, company in ((first_number, merged), (second_number, purged)):
        linked = runner.invoke(app, ["links", "set", number, str(company["id"]), "-c", str(config)])
        assert linked.exit_code == 0, linked.output
    customer_sync(config=str(config))

    _merge_away(emulated, cw, merged["id"])
    _purge(emulated, purged["id"])
    second = customer_sync(config=str(config))
    assert second.status == "completed"

    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    with warehouse.connect(read_only=True) as con:
        # The incremental read did not see the deletion: the sweep found it.
        landed = con.execute(
            "SELECT id, deleted_flag FROM raw_connectwise.companies WHERE id IN (?, ?) ORDER BY id",
            [merged["id"], purged["id"]],
        ).fetchall()
        swept = con.execute(
            "SELECT id, deleted_flag FROM raw_connectwise.company_ids WHERE id IN (?, ?)",
            [merged["id"], purged["id"]],
        ).fetchall()
        mapped = dict(
            con.execute(
                "SELECT customer_number, (match_rule, finding_code) FROM marts.mapped_customers "
                "WHERE customer_number IN (?, ?)",
                [first_number, second_number],
            ).fetchall()
        )
        links = dict(
            con.execute(
                "SELECT source_key, (broken_at, broken_reason) FROM sync.links "
                "WHERE kind = 'customer' AND source_key IN (?, ?)",
                [first_number, second_number],
            ).fetchall()
        )
    assert landed == [(merged["id"], False), (purged["id"], False)]
    assert swept == [(merged["id"], True)]
    assert mapped[first_number][1] == "link-deleted-company"
    assert mapped[second_number][1] == "link-unknown-company"
    assert mapped[first_number][0] != "link" and mapped[second_number][0] != "link"
    merged_break, purged_break = links[first_number], links[second_number]
    assert merged_break[0] is not None and purged_break[0] is not None
    assert f'"Merged {tag}": deleted (merged); seen by the sweep of' in merged_break[1]
    assert "did not find it (purged)" in purged_break[1]
    reported = {
        e.record_id: e.code
        for e in list_errors(warehouse, "customer-sync")
        if e.record_id in (first_number, second_number)
    }
    assert reported == {
        first_number: "link-deleted-company",
        second_number: "link-unknown-company",
    }

    listed = runner.invoke(app, ["links", "list", "--findings", "-c", str(config)], **WIDE)
    assert listed.exit_code == 0, listed.output
    assert listed.output.count("operator, broken") == 2
    shown = runner.invoke(app, ["links", "show", first_number, "-c", str(config)], **WIDE)
    assert shown.exit_code == 0, shown.output
    assert "broken" in shown.output and "link-deleted-company" in shown.output

    third = customer_sync(config=str(config))
    assert third.status == "completed"
    with warehouse.connect(read_only=True) as con:
        again = dict(
            con.execute(
                "SELECT source_key, (broken_at, broken_reason) FROM sync.links "
                "WHERE kind = 'customer' AND source_key IN (?, ?)",
                [first_number, second_number],
            ).fetchall()
        )
    assert again == links

    # any company will do (--force: one not landed): a link set again is no longer broken
    relinked = runner.invoke(app, ["links", "set", first_number, "1", "--force", "-c", str(config)])
    assert relinked.exit_code == 0
    with warehouse.connect(read_only=True) as con:
        assert con.execute(
            "SELECT broken_at FROM sync.links WHERE kind = 'customer' AND source_key = ?",
            [first_number],
        ).fetchone() == (None,)
