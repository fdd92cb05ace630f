"""Call-log parsing without a network: the three samples of specs/call-logs.md, line by
line, and layouts and settings that are refused with the key named."""

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from crosswalk.calllogs import BUILT_IN, Layout, parse
from crosswalk.config import ConfigError, parse_settings
from flows.charge_import.calls import chunks, import_window

GENERIC = """\
CallDate,CallTime,Extension,AccountCode,DialledNumber,Direction,Duration,BillableSeconds,Category,Cost,Currency
2026-03-02,09:14:05,2041,ACME01,02079460123,O,00:03:12,192,National,0.184,GBP
2026-03-02,09:20:41,2041,ACME01,07700900456,O,00:00:47,47,Mobile,0.094,GBP
2026-03-02,10:02:10,2107,,01632960001,O,00:01:05,65,Local,0.031,GBP
2026-03-02,10:05:00,2107,BETA02,2041,I,00:02:00,0,Internal,0.000,GBP
Total,,,,,,,,,0.309,GBP
"""
SMDR = """\
2026/03/02 09:14:05,00:03:12,6,2041,O,902079460123,902079460123,ACME01,0,1000201,0,E2041,Reception A,T9001,Line 1.1,0,0,0,n/a,,,,,,,
2026/03/02 11:30:12,00:00:00,14,07700900987,I,2041,2041,,0,1000202,0,E2041,Reception A,T9002,Line 1.2,0,0,0,n/a,,,,,,,
2026/03/02 11:45:30,00:01:40,4,01632960077,I,2107,2107,,0,1000203,1,E2107,Suite 7,T9001,Line 1.1,20,0,0,n/a,,,,,,,
2026/03/02 11:45:30,00:02:05,0,01632960077,I,2107,2107,,0,1000203,0,V9501,VM Channel 1,T9001,Line 1.1,0,0,0,n/a,,,,,,,
"""  # noqa: E501
CDR = '''\
"ACME01","2041","02079460123","from-internal","""Reception A"" <2041>","PJSIP/2041-00000a1","PJSIP/trunk-00000a2","Dial","PJSIP/02079460123@trunk","2026-03-02 09:14:01","2026-03-02 09:14:05","2026-03-02 09:17:17",196,192,"ANSWERED","DOCUMENTATION","1772442841.101",""
"BETA02","2107","07700900456","from-internal","""Suite 7"" <2107>","PJSIP/2107-00000a3","PJSIP/trunk-00000a4","Dial","PJSIP/07700900456@trunk","2026-03-02 10:20:00","","2026-03-02 10:20:25",25,0,"NO ANSWER","DOCUMENTATION","1772446800.102",""
'''  # noqa: E501


def read(tmp_path, text, layout, header=0, footer=0):
    path = tmp_path / f"{layout}.csv"
    path.write_text(text)
    parsed = parse(path, BUILT_IN[layout], location_id=7, header_rows=header, footer_rows=footer)
    rows = [row for batch in parsed.batches for row in batch.to_pylist()]
    return parsed, rows


def test_generic_header_footer_blank_code_and_internal_call(tmp_path):
    parsed, rows = read(tmp_path, GENERIC, "generic", header=1, footer=1)
    assert (parsed.lines, parsed.skipped_rows, parsed.bad) == (4, 2, [])
    assert [r["source_line"] for r in rows] == [2, 3, 4, 5]
    first = rows[0]
    # UK local time in March is GMT: 09:14:05 is 09:14:05 UTC.
    assert first["call_start_utc"] == datetime(2026, 3, 2, 9, 14, 5, tzinfo=UTC)
    assert (first["extension"], first["account_code"], first["dialled_number"]) == (
        "2041", "ACME01", "02079460123",
    )  # fmt: skip
    assert (first["direction"], first["billable_seconds"]) == ("outbound", 192)
    assert first["cost"] == Decimal("0.184")
    assert rows[2]["account_code"] is None
    assert (rows[3]["is_internal"], rows[3]["is_answered"], rows[3]["cost"]) == (
        True, False, Decimal(0),
    )  # fmt: skip
    assert len({r["line_hash"] for r in rows}) == 4 and rows[0]["call_id"] is None


def test_generic_times_are_converted_from_local_summer_time(tmp_path):
    summer = GENERIC.replace("2026-03-02,09:14:05", "2026-07-01,09:14:05")
    _, rows = read(tmp_path, summer, "generic", header=1, footer=1)
    assert rows[0]["call_start_utc"] == datetime(2026, 7, 1, 8, 14, 5, tzinfo=UTC)


def test_smdr_segments_merge_and_the_trunk_digit_goes(tmp_path):
    parsed, rows = read(tmp_path, SMDR, "smdr")
    assert parsed.lines == 4 and len(rows) == 3 and parsed.bad == []
    by_call = {r["call_id"]: r for r in rows}
    out = by_call["1000201"]
    assert (out["dialled_number"], out["billable_seconds"], out["cost"]) == (
        "02079460123", 192, None,
    )  # fmt: skip
    assert by_call["1000202"]["is_answered"] is False
    transfer = by_call["1000203"]
    assert (transfer["segments"], transfer["billable_seconds"], transfer["extension"]) == (
        2, 100 + 125, "2107",
    )  # fmt: skip
    assert transfer["source_line"] == 3 and transfer["direction"] == "inbound"


def test_cdr_embedded_quotes_unanswered_and_uniqueid(tmp_path):
    parsed, rows = read(tmp_path, CDR, "cdr")
    assert parsed.bad == [] and len(rows) == 2
    answered, unanswered = rows
    assert answered["call_id"] == "1772442841.101" and answered["billable_seconds"] == 192
    assert (answered["extension"], answered["direction"], answered["is_internal"]) == (
        "2041", "outbound", False,
    )  # fmt: skip
    assert (unanswered["is_answered"], unanswered["billable_seconds"]) == (False, 0)


def test_identity_is_device_and_call_id_or_the_call_itself(tmp_path):
    _, once = read(tmp_path, CDR, "cdr")
    edited = CDR.replace('"2026-03-02 09:17:17",196', '"2026-03-02 09:17:17",197')
    _, twice = read(tmp_path, edited, "cdr")
    assert once[0]["line_hash"] == twice[0]["line_hash"]  # same uniqueid, same call
    _, generic = read(tmp_path, GENERIC, "generic", header=1, footer=1)
    changed = GENERIC.replace("00:03:12,192", "00:03:13,193")
    _, regeneric = read(tmp_path, changed, "generic", header=1, footer=1)
    assert generic[0]["line_hash"] != regeneric[0]["line_hash"]
    assert generic[1]["line_hash"] == regeneric[1]["line_hash"]


def test_a_call_twice_in_one_file_is_kept_once(tmp_path):
    doubled = GENERIC.replace("Total", GENERIC.splitlines()[1] + "\nTotal")
    parsed, rows = read(tmp_path, doubled, "generic", header=1, footer=1)
    assert (parsed.lines, len(rows), parsed.repeated) == (5, 4, 1)


def test_unreadable_lines_are_named_with_their_line_and_reason(tmp_path):
    text = GENERIC.replace("0.094,GBP", "0.094,GBP,extra").replace("00:01:05,65", "00:01:05,6x")
    text = text.replace("BETA02,2041", '"BETA02,2041')
    parsed, rows = read(tmp_path, text, "generic", header=1, footer=1)
    assert [r["source_line"] for r in rows] == [2]
    assert [(b.line, b.reason) for b in parsed.bad] == [
        (3, "12 fields where the layout has 11"),
        (4, "BillableSeconds '6x' is not a duration in seconds"),
        (5, "could not be read: a quote opened and never closed?"),
    ]
    # Every line ends somewhere: read, or bad with its reason.
    assert parsed.lines == len(rows) + len(parsed.bad)


def test_layouts_refuse_unknown_columns_and_bad_patterns():
    with pytest.raises(ValueError, match="names columns that are not in 'columns': Nope"):
        Layout(device="d", columns=["a"], start=["a"], extension="Nope", dialled_number="a",
               billable="a", outbound={"column": "a", "matches": "x"})  # fmt: skip
    with pytest.raises(ValueError, match="not a regular expression"):
        Layout(device="d", columns=["a"], start=["a"], extension="a", dialled_number="a",
               billable="a", outbound={"column": "a", "matches": "("})  # fmt: skip


def settings(**charge_import):
    raw = {
        "systems": {"operate": {"base_url": "http://h/", "api_key": {"env": "K"}}},
        "flows": {"charge_import": charge_import},
    }
    return parse_settings(raw)


def test_charge_import_settings_name_the_bad_key():
    with pytest.raises(ConfigError, match=r"location_layouts\.3: unknown layout 'xls'"):
        settings(location_layouts={"3": "xls"})
    with pytest.raises(ConfigError, match=r"flows\.charge_import\.lines_per_request"):
        settings(lines_per_request=1000)
    with pytest.raises(ConfigError, match="approve_sheets: a sheet is approved only once"):
        settings(approve_sheets=True)
    with pytest.raises(ConfigError, match=r"layouts\.mine\.columns"):
        settings(layouts={"mine": {"device": "d"}})
    ok = settings(layout="cdr", location_layouts={"2": "smdr"}, overlap_days=3)
    charges = ok.flows.charge_import
    assert (charges.layout_of(2), charges.layout_of(9)) == ("smdr", "cdr")


def test_windows_overlap_the_last_import_and_download_a_month_at_a_time():
    charges = settings(overlap_days=2, first_date="2025-11-01").flows.charge_import
    today = date(2026, 1, 15)
    assert import_window(None, charges, today, False) == (date(2025, 11, 1), today)
    assert import_window("2026-01-10", charges, today, False) == (date(2026, 1, 8), today)
    assert import_window("2026-01-10", charges, today, True) == (date(2025, 11, 1), today)
    assert import_window("2026-01-20", charges, today, False) is None
    parts = chunks((date(2025, 11, 1), date(2026, 1, 15)))
    assert parts[0] == (date(2025, 11, 1), date(2025, 12, 1))
    assert parts[-1][1] == today and all(b - a <= timedelta(days=30) for a, b in parts)
    for earlier, later in itertools.pairwise(parts):
        assert later[0] == earlier[1] + timedelta(days=1)
