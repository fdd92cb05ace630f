"""The chaos harness's pure parts (emulators/chaos.py): which requests are writes, and how
what the systems hold after a crash is compared with a clean run by natural key."""

from collections import Counter

from emulators.chaos import FLOWS, Held, kill_points, write_label


def test_writes_are_told_from_reads_and_named_without_ids():
    assert write_label("connectwise", "GET", "/v4_6_release/apis/3.0/company/companies") is None
    assert (
        write_label("connectwise", "PATCH", "/v4_6_release/apis/3.0/company/companies/12/sites/9")
        == "connectwise PATCH v4_6_release/apis/3.0/company/companies/*/sites/*"
    )
    assert write_label("eautomate", "POST", "/publicapi/getCustomerDataList") is None
    assert write_label("eautomate", "POST", "/publicapi/setCustomProperties") == (
        "eautomate setCustomProperties"
    )
    assert write_label("operate", "POST", "/api/v1/batch-sheets/4/lines") == (
        "operate POST api/v1/batch-sheets/*/lines"
    )


def held(**kinds: list[tuple[str, str]]) -> Held:
    return Held({name: Counter(rows) for name, rows in kinds.items()})


def test_a_record_made_twice_lost_or_changed_is_counted_by_natural_key():
    clean = held(sites=[("12/Main", '{"fax": "1"}'), ("12/North", '{"fax": "2"}')])
    assert (
        held(sites=[("12/North", '{"fax": "2"}'), ("12/Main", '{"fax": "1"}')]).against(clean).kinds
        == []
    )
    twice = held(sites=[("12/Main", '{"fax": "1"}'), *[("12/North", '{"fax": "2"}')] * 2])
    found = twice.against(clean)
    assert (found.duplicates, found.missing, found.extra, found.kinds) == (1, 0, 1, ["sites"])
    changed = held(sites=[("12/Main", '{"fax": "1"}'), ("12/North", '{"fax": null}')])
    found = changed.against(clean)
    assert (found.duplicates, found.missing, found.extra) == (0, 1, 1)


def test_kill_points_take_every_boundary_kind_in_turn_and_some_random_moments():
    points = kill_points(boundaries=40, count=10, seed=3, seconds=20.0)
    at = [p["kill_at"] for p in points if "kill_at" in p]
    assert len(at) == 8 and len(points) - len(at) == 2
    assert {(n - 1) % 4 for n in at} == {0, 1, 2, 3} and max(at) <= 40
    assert all(0.5 <= p["kill_after"] <= 20.0 for p in points if "kill_after" in p)


def test_every_declared_flow_names_its_writes_and_what_they_leave():
    for chaotic in FLOWS.values():
        assert chaotic.writes and chaotic.kept and chaotic.push is not None, chaotic.flow
