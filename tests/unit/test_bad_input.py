"""Bad input of every kind, one table (issue 19, item 6): each case is an input, the way it
comes in and the reason a person reads for it.

Every case checks the same invariant: rows read = landed + quarantined + skipped with a
reason, and the good rows read beside the bad one land (a bad record never stops the
others). The ways in:

- ``calllog``: a call-log file in a built-in layout (``crosswalk.calllogs.parse``); a
  repeated call is the one row skipped, with its reason;
- ``record``: API records validated (``crosswalk.entities.validate``) and landed with
  their rejects quarantined (``Warehouse.land``), read back from ``sync.quarantine``;
- ``condition``: a name looked up in ConnectWise by ``name=<literal>``, the condition
  sent through a URL's query string and parsed by the emulator: it finds that record only;
- ``shown``: a name in a failure's record and message, rendered in the report (HTML,
  text, Markdown), the e-mail and the attempts e-mail: text, never markup or a header;
- ``config``: a crosswalk.toml fragment: refused, naming the key (nothing is read).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from html import escape
from urllib.parse import parse_qsl, urlencode

import duckdb
import pytest

from crosswalk import mail
from crosswalk import report as render
from crosswalk.calllogs import BUILT_IN, parse
from crosswalk.config import ConfigError, parse_settings
from crosswalk.connectwise import literal
from crosswalk.entities import validate
from crosswalk.warehouse import Warehouse
from emulators.connectwise.conditions import FieldResolver, compile_conditions
from schemas import connectwise, eautomate, operate

from .test_report import report_with, row


@dataclass(frozen=True)
class Outcome:
    read: int
    landed: int
    quarantined: int
    skipped: int
    reasons: list[str]


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    data: object
    reason: str  # a regular expression one reason must match
    landed: int  # rows that land: the good ones, and the bad one when it is only shown


# --- call logs --------------------------------------------------------------------------

HEADER = (
    "CallDate,CallTime,Extension,AccountCode,DialledNumber,Direction,Duration,"
    "BillableSeconds,Category,Cost,Currency\n"
)
FOOTER = "Total,,,,,,,,,0.41,GBP\n"


def generic(minute: int, **changes: str) -> str:
    fields = {
        "CallDate": "2026-04-20", "CallTime": f"10:{minute:02d}:05", "Extension": "2041",
        "AccountCode": "DUNEDI01", "DialledNumber": "02079460123", "Direction": "O",
        "Duration": "00:03:12", "BillableSeconds": "192", "Category": "National",
        "Cost": "0.285", "Currency": "GBP",
    }  # fmt: skip
    fields.update(changes)
    return ",".join(fields.values()) + "\n"


GOOD = generic(1) + generic(2)


def file_of(*lines: str) -> bytes:
    return (HEADER + "".join(lines) + FOOTER).encode()


SMDR_GOOD = (
    "2026/04/20 10:14:05,00:03:12,6,2041,O,902079460123,902079460123,DUNEDI01,0,1000201,0,"
    "E2041,Reception A,T9001,Line 1.1,0,0,0,n/a,,,,,,,\n"
)
CDR_GOOD = (
    '"DUNEDI01","2041","02079460123","from-internal","""Reception A"" <2041>",'
    '"PJSIP/2041-00000a1","PJSIP/trunk-00000a2","Dial","PJSIP/02079460123@trunk",'
    '"2026-04-20 10:14:01","2026-04-20 10:14:05","2026-04-20 10:17:17",196,192,"ANSWERED",'
    '"DOCUMENTATION","1776680041.101",""\n'
)


def calllog(tmp_path, data) -> Outcome:
    layout, raw = data if isinstance(data, tuple) else ("generic", data)
    framed = layout == "generic"
    path = tmp_path / "calls.csv"
    path.write_bytes(raw)
    parsed = parse(
        path, BUILT_IN[layout], location_id=7, header_rows=int(framed), footer_rows=int(framed)
    )
    landed = sum(r["segments"] for b in parsed.batches for r in b.to_pylist())
    reasons = [f"line {b.line}: {b.reason}" for b in parsed.bad]
    reasons += ["the same call is in the file again: kept once"] * parsed.repeated
    return Outcome(parsed.lines, landed, len(parsed.bad), parsed.repeated, reasons)


BINARY = bytes(range(256)) * 3 + b"\n" + bytes(range(255, -1, -1)) + b"\n"

CALLLOGS = [
    Case("calllog-short-line", "calllog", file_of(generic(3)[:40] + "\n", GOOD),
         r"line 2: \d fields where the layout has 11", 2),
    Case("calllog-long-line", "calllog", file_of(GOOD, generic(4).rstrip() + ",extra,more\n"),
         r"line 4: 13 fields where the layout has 11", 2),
    Case("calllog-bad-date", "calllog", file_of(GOOD, generic(5, CallDate="2026-02-30")),
         r"line 4: CallDate CallTime '2026-02-30 10:05:05' is not a date-time", 2),
    Case("calllog-words-for-date", "calllog", file_of(generic(5, CallDate="yesterday"), GOOD),
         r"line 2: CallDate CallTime 'yesterday 10:05:05' is not a date-time", 2),
    Case("calllog-bad-seconds", "calllog", file_of(GOOD, generic(6, BillableSeconds="3m12s")),
         r"line 4: BillableSeconds '3m12s' is not a duration in seconds", 2),
    Case("calllog-negative-seconds", "calllog", file_of(GOOD, generic(6, BillableSeconds="-5")),
         r"line 4: BillableSeconds '-5' is not a duration in seconds", 2),
    Case("calllog-bad-cost", "calllog", file_of(GOOD, generic(7, Cost="0,28")),
         r"line 4: (Cost '0' is not a number|12 fields where the layout has 11)", 2),
    Case("calllog-cost-not-a-number", "calllog", file_of(GOOD, generic(7, Cost="£0.28")),
         r"line 4: Cost '£0.28' is not a number", 2),
    Case("calllog-cost-too-fine", "calllog", file_of(GOOD, generic(7, Cost="0.28451")),
         r"line 4: Cost '0.28451' has more than 4 decimal places", 2),
    Case("calllog-quotes-inside-quotes", "calllog",
         file_of(GOOD, generic(8, AccountCode='"DUN"EDI"')),
         r"line 4: .*unterminated quote", 2),
    Case("calllog-doubled-quotes-are-text", "calllog",
         file_of(generic(8, AccountCode='"DUN""EDI"'), GOOD, generic(9, Cost="x")),
         r"line 5: Cost 'x' is not a number", 3),
    Case("calllog-quote-never-closed", "calllog",
         file_of(GOOD, generic(9, AccountCode='"DUNEDI01')),
         r"line 4: .*(quote|fields where the layout has 11)", 2),
    Case("calllog-quote-closed-lines-later", "calllog",
         file_of(GOOD, generic(4).replace(",", '","', 1), '"' + generic(6)),
         r"line 4: more than 11 fields where the layout has 11; unquoted value", 2),
    Case("calllog-bom-and-bad-line", "calllog",
         b"\xef\xbb\xbf" + file_of(GOOD, generic(10, CallTime="25:61:00")),
         r"line 4: CallDate CallTime '2026-04-20 25:61:00' is not a date-time", 2),
    Case("calllog-windows-line-ends", "calllog",
         file_of(GOOD, generic(11, BillableSeconds="")).replace(b"\n", b"\r\n"),
         r"line 4: BillableSeconds empty is not a duration", 2),
    Case("calllog-truncated-last-line", "calllog", ("smdr", (SMDR_GOOD + SMDR_GOOD[:50]).encode()),
         r"line 2: \d fields where the layout has 26", 1),
    Case("calllog-empty-file", "calllog", b"", r"^$", 0),
    Case("calllog-header-only", "calllog", HEADER.encode(), r"^$", 0),
    Case("calllog-binary-file", "calllog", ("smdr", BINARY), r"line 1: control character 0x00", 0),
    Case("calllog-binary-line-among-calls", "calllog",
         file_of(GOOD, "\x00\x01\x02garbage\x1b\n", generic(13)),
         r"line 4: control character 0x00 at position 1", 3),
    Case("calllog-not-utf8", "calllog",
         HEADER.encode() + GOOD.encode() + generic(14, AccountCode="CAFÉ").encode("cp1252")
         + FOOTER.encode(),
         r"line 4: not UTF-8 text \(byte 0xC9 at position 29\)", 2),
    Case("calllog-repeated-call", "calllog", file_of(GOOD, generic(1)),
         r"the same call is in the file again", 2),
    Case("calllog-smdr-bad-duration", "calllog",
         ("smdr", (SMDR_GOOD + SMDR_GOOD.replace("00:03:12", "3 min").replace("1000201", "1000202"))
          .encode()),
         r"line 2: connected_time '3 min' is not a duration in hh:mm:ss", 1),
    Case("calllog-smdr-no-call-id", "calllog",
         ("smdr", (SMDR_GOOD + SMDR_GOOD.replace(",1000201,", ",,")).encode()),
         r"line 2: call_id is empty: no call id", 1),
    Case("calllog-cdr-quotes-in-caller-id", "calllog",
         ("cdr", (CDR_GOOD + CDR_GOOD.replace('"2026-04-20 10:14:01"', '"20/04/2026"')
                  .replace("1776680041.101", "1776680041.102")).encode()),
         r"line 2: start '20/04/2026' is not a date-time", 1),
]  # fmt: skip


# --- API records ------------------------------------------------------------------------


def company(**changes) -> dict:
    record = {
        "id": 2, "identifier": "BAD", "name": "Bad Co",
        "_info": {"lastUpdated": "2026-01-02T00:00:00Z"},
    }  # fmt: skip
    record.update(changes)
    return {k: v for k, v in record.items() if v is not ...}


GOOD_COMPANIES = [
    {"id": 1, "identifier": "GOOD", "name": "Good Co",
     "_info": {"lastUpdated": "2026-01-01T00:00:00Z"}},
    {"id": 3, "identifier": "FINE", "name": "Fine Co",
     "_info": {"lastUpdated": "2026-01-03T00:00:00Z"}},
]  # fmt: skip
AGREEMENT = {"id": 5, "name": "Managed print", "company": {"id": 1},
             "_info": {"lastUpdated": "2026-01-01T00:00:00Z"}}  # fmt: skip
CUSTOMER = {"CustomerNumber": "C001", "CustomerName": "Good Customer",
            "LastUpdate": "2026-01-01T00:00:00Z"}  # fmt: skip
ACCOUNT = {"id": 1, "name": "Good account", "location_id": 1,
           "updated_at": "2026-01-01T00:00:00Z"}  # fmt: skip


def agreement(**changes) -> dict:
    return {k: v for k, v in {**AGREEMENT, "id": 6, **changes}.items() if v is not ...}


def customer(**changes) -> dict:
    return {
        k: v for k, v in {**CUSTOMER, "CustomerNumber": "C002", **changes}.items() if v is not ...
    }


RECORDS = [
    Case("record-missing-id", "record", (connectwise.companies, company(id=...)),
         r"id: required, got null", 2),
    Case("record-missing-name", "record", (connectwise.companies, company(name=...)),
         r"name: required, got null", 2),
    Case("record-missing-cursor", "record", (connectwise.companies, company(_info=...)),
         r"info__last_updated: required, got null", 2),
    Case("record-id-is-text", "record", (connectwise.companies, company(id="abc")),
         r"id: 'abc' is not a whole number", 2),
    Case("record-id-is-a-fraction", "record", (connectwise.companies, company(id=1.5)),
         r"id: 1.5 is not a whole number", 2),
    Case("record-id-is-a-boolean", "record", (connectwise.companies, company(id=True)),
         r"id: True is not a whole number", 2),
    Case("record-id-beyond-64-bits", "record", (connectwise.companies, company(id=10**30)),
         r"id: 10{30} is beyond the range of a whole number", 2),
    Case("record-id-negative", "record", (connectwise.companies, company(id=-3)),
         r"id: -3 is less than 1", 2),
    Case("record-name-is-an-object", "record",
         (connectwise.companies, company(name={"first": "Bad"})),
         r"name: an object where a single value belongs", 2),
    Case("record-name-empty", "record", (connectwise.companies, company(name="")),
         r"name: required, got an empty value", 2),
    Case("record-name-oversize", "record", (connectwise.companies, company(name="N" * 51)),
         r"name: 'N{51}' is longer than 50 characters", 2),
    Case("record-identifier-oversize", "record",
         (connectwise.companies, company(identifier="I" * 31)),
         r"identifier: 'I{31}' is longer than 30 characters", 2),
    Case("record-zip-oversize", "record", (connectwise.companies, company(zip="9" * 13)),
         r"zip: '9{13}' is longer than 12 characters", 2),
    Case("record-name-nul", "record", (connectwise.companies, company(name="Bad\x00Co")),
         r"name: 'Bad\\x00Co' holds control character 0x00 at position 4", 2),
    Case("record-name-terminal-escape", "record",
         (connectwise.companies, company(name="Bad \x1b[31mCo")),
         r"name: .* holds control character 0x1B at position 5", 2),
    Case("record-city-backspace", "record", (connectwise.companies, company(city="Sara\x08sota")),
         r"city: .* holds control character 0x08 at position 5", 2),
    Case("record-impossible-date", "record",
         (connectwise.companies, company(_info={"lastUpdated": "2026-02-30T00:00:00Z"})),
         r"info__last_updated: '2026-02-30T00:00:00Z' is not a valid date-time", 2),
    Case("record-year-zero", "record",
         (connectwise.companies, company(_info={"lastUpdated": "0000-01-01T00:00:00Z"})),
         r"info__last_updated: '0000-01-01T00:00:00Z' is not a valid date-time", 2),
    Case("record-five-digit-year", "record",
         (connectwise.companies, company(_info={"lastUpdated": "99999-01-01T00:00:00Z"})),
         r"info__last_updated: '99999-01-01T00:00:00Z' is not a valid date-time", 2),
    Case("record-date-in-words", "record",
         (connectwise.companies, company(_info={"lastUpdated": "yesterday"})),
         r"info__last_updated: 'yesterday' is not a valid date-time", 2),
    Case("record-flag-not-boolean", "record",
         (connectwise.companies, company(deletedFlag="maybe")),
         r"deleted_flag: 'maybe' is not a valid true or false", 2),
    Case("record-money-with-comma", "record",
         (connectwise.agreements, agreement(billAmount="12,50")),
         r"bill_amount: '12,50' is not a number", 1),
    Case("record-money-too-fine", "record", (connectwise.agreements, agreement(billAmount=1.23456)),
         r"bill_amount: 1.23456 has more than 4 decimal places", 1),
    Case("record-money-too-large", "record", (connectwise.agreements, agreement(billAmount=1e30)),
         r"bill_amount: 1E\+30 is not a valid number of DECIMAL\(18, 4\)", 1),
    Case("record-money-nan", "record", (connectwise.agreements, agreement(billAmount="NaN")),
         r"bill_amount: 'NaN' is not a number", 1),
    Case("record-unknown-status", "record",
         (connectwise.agreements, agreement(agreementStatus="Zombie")),
         r"agreement_status: 'Zombie' is not one of", 1),
    Case("record-reference-not-an-id", "record",
         (connectwise.agreements, agreement(company={"id": "ACME"})),
         r"company__id: 'ACME' is not a whole number", 1),
    Case("record-reference-missing", "record", (connectwise.agreements, agreement(company=None)),
         r"company__id: required, got null", 1),
    Case("record-erp-number-oversize", "record",
         (eautomate.customers, customer(CustomerNumber="C" * 16)),
         r"customer_number: 'C{16}' is longer than 15 characters", 1),
    Case("record-erp-name-control", "record",
         (eautomate.customers, customer(CustomerName="Tab\tok but bell\x07")),
         r"customer_name: .* holds control character 0x07", 1),
    Case("record-operate-location-is-text", "record",
         (operate.accounts, {**ACCOUNT, "id": 2, "location_id": "Leeds"}),
         r"location_id: 'Leeds' is not a whole number", 1),
]  # fmt: skip
GOOD_RECORDS = {
    connectwise.companies: GOOD_COMPANIES,
    connectwise.agreements: [AGREEMENT],
    eautomate.customers: [CUSTOMER],
    operate.accounts: [ACCOUNT],
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Warehouse:
    warehouse = Warehouse(tmp_path_factory.mktemp("bad-input") / "warehouse.duckdb")
    warehouse.migrate()
    return warehouse


def record(warehouse: Warehouse, run_id: str, data) -> Outcome:
    entity, bad = data
    records = [*GOOD_RECORDS[entity], bad]
    validated = validate(entity, records)
    result = warehouse.land(
        entity.system, entity.name, entity.primary_key, validated.table, run_id, validated.rejected
    )
    with warehouse.connect(read_only=True) as con:
        quarantined = con.execute(
            "SELECT reason, record FROM sync.quarantine WHERE run_id = ?", [run_id]
        ).fetchall()
    assert [json.loads(r) for _, r in quarantined] == [json.loads(json.dumps(bad, default=str))]
    skipped = len(records) - result.read  # two records with one key: the last one read lands
    return Outcome(len(records), result.landed, len(quarantined), skipped,
                   [reason for reason, _ in quarantined])  # fmt: skip


# --- names in ConnectWise conditions ----------------------------------------------------

NAMES = [
    'O"Brien & Sons', "O'Brien's", 'Say "hi" \'twice\'', "[Bracketed] Ltd", "Acme]", "[",
    "100%", "100% Pure", "Star*", "Star*Co", "Back\\slash", "Trailing\\", '\\"', "a_b",
    "axb", "(Parens) (Ltd)", "x' or 1=1 --", 'name="x" or id>0', "Café Ünïcode",
]  # fmt: skip
CW_KEYS = {"id", "name", "identifier"}


@pytest.fixture(scope="module")
def companies_table():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id BIGINT, doc VARCHAR)")
    for i, name in enumerate(NAMES, start=1):
        con.execute("INSERT INTO t VALUES (?, ?)", [i, json.dumps({"id": i, "name": name})])
    yield con
    con.close()


def condition(con, name: str) -> Outcome:
    """``name=<literal>`` as ``ConnectWise.find`` writes it, through a query string and
    the emulator's parser: the record of that name and no other."""
    query = urlencode({"conditions": f"name={literal(name)}"})
    (sent,) = [value for key, value in parse_qsl(query) if key == "conditions"]
    sql = compile_conditions(sent, FieldResolver({"id": ("id", "BIGINT")}, CW_KEYS))
    found = con.execute(f"SELECT id FROM t WHERE {sql.text}", sql.params).fetchall()
    assert found == [(NAMES.index(name) + 1,)], f"{sent} found {found}"
    return Outcome(1, len(found), 0, 0, ["found by name: exactly its own record"])


CONDITIONS = [
    Case(f"condition-{i:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-') or 'symbol'}",
         "condition", name, r"found by name: exactly its own record", 1)
    for i, name in enumerate(NAMES)
]  # fmt: skip


# --- names shown in reports and e-mails -------------------------------------------------

SHOWN = [
    ("html-script", '<script>alert("x")</script> Ltd'),
    ("html-image", "<img src=x onerror=alert(1)>"),
    ("html-entity", "Smith &amp; Sons &lt;b&gt;"),
    ("html-comment", "Acme <!-- --> </td></tr></table>"),
    ("formula-equals", '=HYPERLINK("http://evil.example","click")'),
    ("formula-plus", "+cmd|' /C calc'!A0"),
    ("formula-at", "@SUM(1+1)*cmd|' /C calc'!A0"),
    ("formula-minus", "-2+3+cmd|' /C calc'!A0"),
    ("header-injection", "Acme\r\nBcc: attacker@example.com"),
    ("markdown-link", "[click](javascript:alert(1)) | *bold*"),
]


def shown(_, name: str) -> Outcome:
    """The name is the record and the problem of a failure: in the HTML it is escaped text,
    in plain text it is one line as written, and the e-mail's headers are its own."""
    failure = row(label=f"customer {name}", message=f"name: {name!r} is odd")
    report = report_with(failure)
    html = render.html_body(report)
    one_line = " ".join(name.split())
    assert escape(f"customer {one_line}", quote=True) in html
    assert not re.search(r"<(script|img|!--)", html)
    plain = render.text(report)
    assert f"customer {one_line}" in plain
    assert "\\<" in render.markdown(report) or "<" not in name
    message = mail.compose(report, "crosswalk <cw@example.com>", ["ops@example.com"])
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed["Bcc"] is None and parsed["To"] == "ops@example.com"
    assert f"customer {one_line}" in parsed.get_body(("plain",)).get_content()
    attempts = render.Attempts(
        "service-sync", "run-1", datetime(2026, 12, 1, tzinfo=UTC),
        (render.AttemptLine(False, "C1", name, f"refused: {name}"),),
    )  # fmt: skip
    attempts_html = render.attempts_html(attempts)
    assert escape(one_line, quote=True) in attempts_html
    assert not re.search(r"<(script|img|!--)", attempts_html)
    assert one_line in render.attempts_text(attempts)
    return Outcome(1, 1, 0, 0, ["shown as text"])


SHOWN_CASES = [Case(f"shown-{key}", "shown", name, r"shown as text", 1) for key, name in SHOWN]


# --- configuration ----------------------------------------------------------------------

OPERATE = {"base_url": "http://127.0.0.1:8702/", "api_key": {"env": "OPERATE_KEY"}}
LAYOUT = {
    "device": "PBX", "columns": ["when", "ext", "number", "secs", "dir"], "start": ["when"],
    "extension": "ext", "dialled_number": "number", "billable": "secs",
    "outbound": {"column": "dir", "matches": "^O$"},
}  # fmt: skip


def config(_, raw: dict) -> Outcome:
    with pytest.raises(ConfigError) as error:
        parse_settings(raw)
    return Outcome(0, 0, 0, 0, [str(error.value)])


def with_operate(**operate_changes) -> dict:
    return {"systems": {"operate": {**OPERATE, **operate_changes}}}


def with_layout(**changes) -> dict:
    layouts = {"pbx": {**LAYOUT, **changes}}
    return {**with_operate(), "flows": {"charge_import": {"layouts": layouts}}}


CONFIGS = [
    Case("config-no-system", "config", {"systems": {}}, r"systems: .*configure at least one", 0),
    Case("config-unknown-key", "config", {**with_operate(), "warehouse": {"paht": "x"}},
         r"warehouse\.paht: unknown key", 0),
    Case("config-url-not-http", "config", with_operate(base_url="ftp://nowhere"),
         r"systems\.operate\.base_url: not an http\(s\) URL: 'ftp://nowhere'", 0),
    Case("config-page-size-too-big", "config", with_operate(page_size=5000),
         r"systems\.operate\.page_size", 0),
    Case("config-number-as-words", "config",
         {**with_operate(), "extract": {"overlap_minutes": "soon"}},
         r"extract\.overlap_minutes", 0),
    Case("config-secret-written-in", "config", with_operate(api_key="s3cr3t-value"),
         r"systems\.operate\.api_key", 0),
    Case("config-secret-env-name-bad", "config", with_operate(api_key={"env": "1 BAD NAME"}),
         r"systems\.operate\.api_key\.env", 0),
    Case("config-layout-bad-regex", "config",
         with_layout(outbound={"column": "dir", "matches": "(O"}),
         r"flows\.charge_import\.layouts\.pbx\.outbound.*not a regular expression", 0),
    Case("config-layout-unknown-column", "config", with_layout(extension="extn"),
         r"flows\.charge_import\.layouts\.pbx.*names columns that are not in 'columns': extn", 0),
    Case("config-layout-two-char-delimiter", "config", with_layout(delimiter=";;"),
         r"flows\.charge_import\.layouts\.pbx\.delimiter", 0),
    Case("config-location-layout-unknown", "config",
         {**with_operate(), "flows": {"charge_import": {"location_layouts": {"12": "nope"}}}},
         r"location_layouts\.12: unknown layout 'nope'", 0),
]  # fmt: skip


CASES = [*CALLLOGS, *RECORDS, *CONDITIONS, *SHOWN_CASES, *CONFIGS]


def test_the_table_has_every_kind_and_at_least_sixty_cases():
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)
    assert {case.kind for case in CASES} == {"calllog", "record", "condition", "shown", "config"}


@pytest.fixture(scope="module")
def runners(warehouse, companies_table) -> dict[str, Callable[..., Outcome]]:
    return {
        "calllog": lambda tmp_path, case: calllog(tmp_path, case.data),
        "record": lambda tmp_path, case: record(warehouse, case.id, case.data),
        "condition": lambda tmp_path, case: condition(companies_table, case.data),
        "shown": lambda tmp_path, case: shown(tmp_path, case.data),
        "config": lambda tmp_path, case: config(tmp_path, case.data),
    }


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case, runners, tmp_path):
    outcome = runners[case.kind](tmp_path, case)
    assert outcome.read == outcome.landed + outcome.quarantined + outcome.skipped
    assert outcome.landed == case.landed, outcome
    if case.kind in ("calllog", "record"):  # a reason for every row not landed
        assert len(outcome.reasons) == outcome.quarantined + outcome.skipped
    if case.reason == "^$":
        assert outcome.reasons == []
    else:
        assert any(re.search(case.reason, reason) for reason in outcome.reasons), outcome.reasons
