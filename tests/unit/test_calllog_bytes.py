"""Call-log files as Windows and real loggers write them: a UTF-8 byte-order mark in front
of the first line changes nothing in any layout, and a cost is the decimal written in the
file (half cents included), never a float's nearest neighbour."""

import codecs
from decimal import Decimal

import pytest

from crosswalk.calllogs import BUILT_IN, parse

GENERIC = """\
CallDate,CallTime,Extension,AccountCode,DialledNumber,Direction,Duration,BillableSeconds,Category,Cost,Currency
2026-04-20,10:14:05,2041,DUNEDI01,02079460123,O,00:03:12,192,National,0.285,GBP
2026-04-20,10:20:41,2041,DUNEDI01,07700900456,O,00:00:47,47,Mobile,2.675,GBP
2026-04-20,10:02:10,2107,BETA02,01632960001,O,00:01:05,65,Local,0.125,GBP
Total,,,,,,,,,3.085,GBP
"""
SMDR = """\
2026/04/20 10:14:05,00:03:12,6,2041,O,902079460123,902079460123,DUNEDI01,0,1000201,0,E2041,Reception A,T9001,Line 1.1,0,0,0,n/a,,,,,,,
2026/04/20 11:45:30,00:01:40,4,01632960077,I,2107,2107,,0,1000203,1,E2107,Suite 7,T9001,Line 1.1,20,0,0,n/a,,,,,,,
2026/04/20 11:45:30,00:02:05,0,01632960077,I,2107,2107,,0,1000203,0,V9501,VM Channel 1,T9001,Line 1.1,0,0,0,n/a,,,,,,,
"""  # noqa: E501
CDR = '''\
"DUNEDI01","2041","02079460123","from-internal","""Reception A"" <2041>","PJSIP/2041-00000a1","PJSIP/trunk-00000a2","Dial","PJSIP/02079460123@trunk","2026-04-20 10:14:01","2026-04-20 10:14:05","2026-04-20 10:17:17",196,192,"ANSWERED","DOCUMENTATION","1776680041.101",""
"BETA02","2107","07700900456","from-internal","""Suite 7"" <2107>","PJSIP/2107-00000a3","PJSIP/trunk-00000a4","Dial","PJSIP/07700900456@trunk","2026-04-20 10:20:00","","2026-04-20 10:20:25",25,0,"NO ANSWER","DOCUMENTATION","1776680400.102",""
'''  # noqa: E501
FILES = {"generic": (GENERIC, 1, 1), "smdr": (SMDR, 0, 0), "cdr": (CDR, 0, 0)}


def read(folder, layout, data: bytes):
    _, header, footer = FILES[layout]
    folder.mkdir(exist_ok=True)
    path = folder / "calls.csv"
    path.write_bytes(data)
    parsed = parse(path, BUILT_IN[layout], location_id=7, header_rows=header, footer_rows=footer)
    return parsed, [row for batch in parsed.batches for row in batch.to_pylist()]


@pytest.mark.parametrize("layout", sorted(FILES))
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_byte_order_mark_lands_the_same_rows(tmp_path, layout, newline):
    data = FILES[layout][0].replace("\n", newline).encode("utf-8")
    plain, plain_rows = read(tmp_path / "plain", layout, data)
    marked, marked_rows = read(tmp_path / "marked", layout, codecs.BOM_UTF8 + data)
    assert plain.bad == marked.bad == []
    assert (marked.lines, marked.skipped_rows) == (plain.lines, plain.skipped_rows)
    assert marked_rows == plain_rows and plain_rows
    assert plain_rows[0]["account_code"] == "DUNEDI01"


def test_costs_are_the_decimals_written_half_cents_included(tmp_path):
    parsed, rows = read(tmp_path, "generic", GENERIC.encode())
    assert parsed.bad == []
    assert [row["cost"] for row in rows] == [
        Decimal("0.285"), Decimal("2.675"), Decimal("0.125"),
    ]  # fmt: skip
    assert all(str(row["cost"]) in ("0.2850", "2.6750", "0.1250") for row in rows)


def test_a_cost_finer_than_landed_money_is_a_bad_line_not_rounded(tmp_path):
    text = GENERIC.replace(",0.285,", ",0.28451,").replace(",2.675,", ",2.6750000,")
    parsed, rows = read(tmp_path, "generic", text.encode())
    assert [(b.line, b.reason) for b in parsed.bad] == [
        (2, "Cost '0.28451' has more than 4 decimal places"),
    ]
    assert [row["cost"] for row in rows] == [Decimal("2.675"), Decimal("0.125")]
