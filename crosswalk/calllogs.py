"""Call-log files -> normalised call rows, by a layout from configuration (specs/call-logs.md).

A :class:`Layout` says how one device's export is written: delimiter and quoting, every
column in file order, which columns hold the call's start (and its date format and time
zone), the extension, account code, number, billable duration (seconds or ``HH:MM:SS``),
cost (absent: the call is rated later with the product's price), and three rules that
say whether a call went out, was internal or went unanswered. The Operate device import
map the layout belongs to adds the header and footer rows to skip. Three layouts are
built in (``generic``, ``smdr``, ``cdr``); a fourth is a configuration entry.

:func:`parse` reads one file with DuckDB's CSV reader and returns Arrow batches of calls
plus the lines it could not read, each with its file, line number and reason:

1. the lines are numbered first (``<line><delimiter>`` in front of each), header and
   footer rows and blank lines left out, so every row and every reject keeps its line;
   a UTF-8 byte-order mark in front of the first line (Windows exports) goes too, and a
   line that is not text (not UTF-8, a control character: a binary file) is a bad line;
2. ``read_csv`` with explicit columns, all text, ``store_rejects`` for lines with the
   wrong number of fields or broken quoting;
3. one SQL pass types each field and names what does not parse (a cost is a DECIMAL
   as written, refused when it has more places than landed money keeps);
4. segments sharing a call id are merged into one call (first segment's extension, code
   and number; seconds and cost summed; unanswered only if every segment was);
5. each call gets its ``line_hash``: location, device and call id, or where the format
   has no call id, start time, extension, number and billable seconds.

Every line read ends as a call (alone or merged with its other segments) or a reject.
"""

from __future__ import annotations

import codecs
import re
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import duckdb
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crosswalk import money

BATCH_ROWS = 100_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return value


Regex = Annotated[str, Field(min_length=1)]


class Column(_Strict):
    """A value taken from a column; with ``extract``, the regular expression's first group
    (no match: no value)."""

    column: str
    extract: Regex | None = None

    @field_validator("extract")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return value if value is None else _regex(value)


class Rule(_Strict):
    """True when ``column`` matches the regular expression ``matches``."""

    column: str
    matches: Regex

    @field_validator("matches")
    @classmethod
    def _compiles(cls, value: str) -> str:
        return _regex(value)


# A field: a column name, a Column, or several tried in order (the first with a value).
FieldSpec = str | Column | list[Column]
Rules = Rule | list[Rule]  # several: all must match


FIELDS = (
    "call_id", "extension", "account_code", "dialled_number", "billable", "category", "cost",
    "currency", "outbound", "internal", "unanswered",
)  # fmt: skip


class Layout(_Strict):
    """How one device's call-log export is written."""

    device: str = Field(min_length=1, description="the Operate device import map's name")
    connect_format: Literal["generic", "smdr", "cdr"] | None = None
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quote: str = Field(default='"', max_length=1)  # "" for none
    columns: list[str] = Field(min_length=1)
    start: list[str] = Field(min_length=1)
    start_format: str = "%Y-%m-%d %H:%M:%S"
    timezone: str = "UTC"
    call_id: FieldSpec | None = None
    merge_segments: bool = False
    extension: FieldSpec
    account_code: FieldSpec | None = None
    dialled_number: FieldSpec
    billable: FieldSpec
    duration_format: Literal["seconds", "hh:mm:ss"] = "seconds"
    category: FieldSpec | None = None
    cost: FieldSpec | None = None
    currency: FieldSpec | None = None
    default_currency: str = "GBP"
    outbound: Rules
    internal: Rules | None = None
    unanswered: Rules | None = None

    @model_validator(mode="after")
    def _columns_exist(self) -> Layout:
        known = set(self.columns)
        if len(known) != len(self.columns):
            raise ValueError("columns: a column name appears twice")
        if "_line" in known:
            raise ValueError("columns: '_line' is reserved")
        used = list(self.start)
        for name in FIELDS:
            value = getattr(self, name)
            for item in value if isinstance(value, list) else [value]:
                if item is not None:
                    used.append(item if isinstance(item, str) else item.column)
        unknown = sorted({name for name in used if name not in known})
        if unknown:
            raise ValueError(f"names columns that are not in 'columns': {', '.join(unknown)}")
        if self.merge_segments and self.call_id is None:
            raise ValueError("merge_segments needs call_id (the column segments share)")
        return self


GENERIC_COLUMNS = [
    "CallDate", "CallTime", "Extension", "AccountCode", "DialledNumber", "Direction",
    "Duration", "BillableSeconds", "Category", "Cost", "Currency",
]  # fmt: skip
SMDR_COLUMNS = [
    "call_start", "connected_time", "ring_time", "caller", "direction", "called_number",
    "dialled_number", "account", "is_internal", "call_id", "continuation", "party1_device",
    "party1_name", "party2_device", "party2_name", "hold_time", "park_time", "auth_valid",
    "auth_code", "user_charged", "call_charge", "currency", "amount_at_last_user_change",
    "call_units", "units_at_last_user_change", "cost_per_unit",
]  # fmt: skip
CDR_COLUMNS = [
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
    "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
    "uniqueid", "userfield",
]  # fmt: skip
EXTENSION = r"^(\d{3,5})$"

# The three formats of specs/call-logs.md, as Connect exports them.
BUILT_IN: dict[str, Layout] = {
    "generic": Layout(
        device="essensys call logger",
        connect_format="generic",
        columns=GENERIC_COLUMNS,
        start=["CallDate", "CallTime"],
        start_format="%Y-%m-%d %H:%M:%S",
        timezone="Europe/London",
        extension="Extension",
        account_code="AccountCode",
        dialled_number="DialledNumber",
        billable="BillableSeconds",
        category="Category",
        cost="Cost",
        currency="Currency",
        outbound=Rule(column="Direction", matches="^O$"),
        internal=Rule(column="Category", matches="^Internal$"),
        unanswered=Rule(column="BillableSeconds", matches="^0+$"),
    ),
    "smdr": Layout(
        device="Elephant Call Logger",
        connect_format="smdr",
        quote="",
        columns=SMDR_COLUMNS,
        start=["call_start"],
        start_format="%Y/%m/%d %H:%M:%S",
        timezone="Europe/London",
        call_id="call_id",
        merge_segments=True,
        extension=Column(column="party1_device", extract=r"^[EV](\d+)$"),
        account_code="account",
        # The trunk access digit 9 before an outside number is not part of the number.
        dialled_number=[
            Column(column="dialled_number", extract=r"^9(0\d+)$"),
            Column(column="dialled_number"),
        ],
        billable="connected_time",
        duration_format="hh:mm:ss",
        outbound=Rule(column="direction", matches="^O$"),
        internal=Rule(column="is_internal", matches="^1$"),
        unanswered=Rule(column="connected_time", matches="^0?0:00:00$"),
    ),
    "cdr": Layout(
        device="Asterisk CDR",
        connect_format="cdr",
        columns=CDR_COLUMNS,
        start=["start"],
        timezone="Europe/London",
        call_id="uniqueid",
        extension=[
            Column(column="src", extract=EXTENSION),
            Column(column="dst", extract=EXTENSION),
        ],
        account_code="accountcode",
        dialled_number="dst",
        billable="billsec",
        outbound=Rule(column="dcontext", matches="^from-internal$"),
        internal=[
            Rule(column="dcontext", matches="^from-internal$"),
            Rule(column="dst", matches=EXTENSION),
        ],
        unanswered=Rule(column="disposition", matches="^(NO ANSWER|BUSY|FAILED|CONGESTION)$"),
    ),
}

# The landed call row (raw_calllogs.calls), in order.
CALL_SCHEMA = pa.schema(
    [
        ("line_hash", pa.string()),
        ("location_id", pa.int64()),
        ("source_device", pa.string()),
        ("layout", pa.string()),
        ("call_id", pa.string()),
        ("call_start_utc", pa.timestamp("us", tz="UTC")),
        ("extension", pa.string()),
        ("account_code", pa.string()),
        ("dialled_number", pa.string()),
        ("direction", pa.string()),
        ("is_internal", pa.bool_()),
        ("is_answered", pa.bool_()),
        ("billable_seconds", pa.int64()),
        ("category", pa.string()),
        ("cost", money.AMOUNT),
        ("currency", pa.string()),
        ("segments", pa.int64()),
        ("source_file", pa.string()),
        ("source_line", pa.int64()),
    ]
)


@dataclass(frozen=True)
class BadLine:
    """A line that is not a call: its number, its fields (or text) and why."""

    line: int
    record: dict[str, Any]
    reason: str


@dataclass
class Parsed:
    """One file: calls in Arrow batches, the lines that failed, and line counts."""

    batches: list[pa.Table]
    bad: list[BadLine]
    lines: int  # data lines read (header, footer and blank lines not counted)
    skipped_rows: int  # header and footer rows left out
    repeated: int = 0  # calls that were in the file more than once (kept once)

    @property
    def calls(self) -> int:
        return sum(batch.num_rows for batch in self.batches)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _value(spec: FieldSpec | None) -> str:
    """SQL for a field: trimmed text, NULL when empty or when ``extract`` does not match."""
    if spec is None:
        return "NULL"
    if isinstance(spec, list):
        return "coalesce(" + ", ".join(_value(item) for item in spec) + ")"
    if isinstance(spec, str):
        return f"nullif(trim({_ident(spec)}), '')"
    text = f"trim({_ident(spec.column)})"
    if spec.extract is None:
        return f"nullif({text}, '')"
    return f"nullif(regexp_extract({text}, {_literal(spec.extract)}, 1), '')"


def _raw(spec: FieldSpec | None) -> str:
    """SQL for a field's text as written (for the reason when it does not parse)."""
    if spec is None:
        return "NULL"
    if isinstance(spec, list):
        return "coalesce(" + ", ".join(_raw(item) for item in spec) + ")"
    return _ident(spec if isinstance(spec, str) else spec.column)


def _name(spec: FieldSpec) -> str:
    if isinstance(spec, list):
        return " or ".join(_name(item) for item in spec)
    return spec if isinstance(spec, str) else spec.column


def _rule(rules: Rules | None) -> str:
    if rules is None:
        return "false"
    items = rules if isinstance(rules, list) else [rules]
    return " AND ".join(
        f"regexp_matches(coalesce(trim({_ident(r.column)}), ''), {_literal(r.matches)})"
        for r in items
    )


def _seconds(layout: Layout) -> str:
    value = _value(layout.billable)
    if layout.duration_format == "seconds":
        return f"TRY_CAST({value} AS BIGINT)"
    return (
        f"CASE WHEN regexp_full_match({value}, '\\d+:\\d{{2}}:\\d{{2}}') THEN "
        f"CAST(split_part({value}, ':', 1) AS BIGINT) * 3600 "
        f"+ CAST(split_part({value}, ':', 2) AS BIGINT) * 60 "
        f"+ CAST(split_part({value}, ':', 3) AS BIGINT) END"
    )


def typed_sql(layout: Layout, source: str) -> str:
    """One row per line of ``source`` (with ``_line`` and the layout's columns, as text):
    the typed fields and ``problem`` (NULL when the line parses)."""
    start_text = "concat_ws(' ', " + ", ".join(f"trim({_ident(c)})" for c in layout.start) + ")"
    fmt = _literal(layout.start_format)
    cost = _value(layout.cost)

    def shown(name: str, text: str, what: str) -> str:
        """SQL for "<name> '<text>' <what>" (or "<name> empty <what>")."""
        quoted = f"'''' || {text} || ''''"
        return f"{_literal(name + ' ')} || coalesce({quoted}, 'empty') || {_literal(' ' + what)}"

    checks = [
        (
            "start_local IS NULL",
            shown(
                " ".join(layout.start),
                "start_text",
                f"is not a date-time in the format {layout.start_format}",
            ),
        ),
        (
            "billable_seconds IS NULL OR billable_seconds < 0",
            shown(
                _name(layout.billable),
                "billable_text",
                f"is not a duration in {layout.duration_format}",
            ),
        ),
    ]
    if layout.cost is not None:
        checks.append(
            (
                "cost IS NULL AND cost_text IS NOT NULL",
                shown(_name(layout.cost), "cost_text", "is not a number"),
            )
        )
        checks.append(
            (
                "cost_written IS DISTINCT FROM cost",
                shown(
                    _name(layout.cost),
                    "cost_text",
                    f"has more than {money.AMOUNT.scale} decimal places",
                ),
            )
        )
    if layout.call_id is not None:
        checks.append(
            ("call_id IS NULL", _literal(f"{_name(layout.call_id)} is empty: no call id"))
        )
    problem = "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, r in checks) + " END"
    return f"""
        WITH typed AS (
            SELECT _line,
                {start_text} AS start_text,
                try_strptime({start_text}, {fmt}) AS start_local,
                {_value(layout.call_id)} AS call_id,
                {_value(layout.extension)} AS extension,
                {_value(layout.account_code)} AS account_code,
                {_value(layout.dialled_number)} AS dialled_number,
                {_rule(layout.outbound)} AS is_outbound,
                {_rule(layout.internal)} AS is_internal,
                {_rule(layout.unanswered)} AS is_unanswered,
                {_raw(layout.billable)} AS billable_text,
                {_seconds(layout)} AS billable_seconds,
                {_value(layout.category)} AS category,
                {cost} AS cost_text,
                TRY_CAST({cost} AS {money.sql_type(money.AMOUNT)}) AS cost,
                TRY_CAST({cost} AS DECIMAL(38, 18)) AS cost_written,
                coalesce({_value(layout.currency)}, {_literal(layout.default_currency)})
                    AS currency
            FROM {source}
        )
        SELECT *, timezone({_literal(layout.timezone)}, start_local) AS call_start_utc,
            {problem} AS problem
        FROM typed
    """


def number_lines(
    path: Path, target: Path, delimiter: str, header: int, footer: int
) -> tuple[int, int, list[BadLine]]:
    """Copy ``path`` to ``target`` with each data line prefixed by its line number; header
    and footer rows and blank lines are left out, and so are lines that are not text (not
    UTF-8, or holding a control character), returned as bad lines. Returns (data lines,
    rows left out, bad lines)."""
    prefix = delimiter.encode()
    written = left_out = 0
    bad: list[BadLine] = []
    held: deque[tuple[int, bytes]] = deque()
    with path.open("rb") as source, target.open("wb") as out:
        for number, line in enumerate(source, start=1):
            if number == 1:
                line = line.removeprefix(codecs.BOM_UTF8)
            if number <= header:
                left_out += 1
                continue
            if not line.strip():
                continue
            held.append((number, line))
            if len(held) > footer:
                kept, text = held.popleft()
                text = text.rstrip(b"\r\n")
                problem = not_text(text)
                if problem:
                    shown = text[:200].decode("utf-8", "backslashreplace")
                    bad.append(BadLine(kept, {"text": shown}, problem))
                    continue
                out.write(b"%d" % kept + prefix + text + b"\n")
                written += 1
    return written + len(bad), left_out + len(held), bad


_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")


def not_text(line: bytes) -> str | None:
    """Why a line is not a line of text (None when it is): bytes that are not UTF-8, or
    a control character (a binary file, or a file cut and joined wrongly)."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (
            f"not UTF-8 text (byte 0x{line[exc.start]:02X} at position {exc.start + 1}): "
            "export the call log as UTF-8, or check it is a call log at all"
        )
    found = _CONTROL.search(line)
    if found:
        return (
            f"control character 0x{found.group()[0]:02X} at position {found.start() + 1}: "
            "not a call-log line (a binary file, or a line cut short and joined to another?)"
        )
    return None


def parse(
    path: Path,
    layout: Layout,
    *,
    location_id: int,
    header_rows: int = 0,
    footer_rows: int = 0,
    name: str | None = None,
    layout_name: str | None = None,
) -> Parsed:
    """The calls and bad lines of one call-log file (see the module docstring)."""
    name = name or path.name
    with tempfile.TemporaryDirectory(prefix="crosswalk-calllog-") as folder:
        numbered = Path(folder) / "numbered.csv"
        lines, skipped, not_text_lines = number_lines(
            path, numbered, layout.delimiter, header_rows, footer_rows
        )
        con = duckdb.connect()
        try:
            parsed = _read(con, numbered, layout, location_id, name, layout_name)
        finally:
            con.close()
    parsed.lines, parsed.skipped_rows = lines, skipped
    parsed.bad = sorted([*parsed.bad, *not_text_lines], key=lambda b: b.line)
    return parsed


def _read(
    con, numbered: Path, layout: Layout, location: int, name: str, layout_name: str | None
) -> Parsed:
    columns = "{'_line': 'BIGINT', " + ", ".join(
        f"{_literal(c)}: 'VARCHAR'" for c in layout.columns
    ) + "}"  # fmt: skip
    quote = _literal(layout.quote)
    con.execute(
        f"""
        CREATE TABLE lines AS SELECT * FROM read_csv({_literal(str(numbered))},
            columns = {columns}, header = false, auto_detect = false,
            delim = {_literal(layout.delimiter)}, quote = {quote}, escape = {quote},
            store_rejects = true, rejects_table = 'rejects', rejects_scan = 'reject_scans',
            strict_mode = true, parallel = false)
        """
    )
    # DuckDB reports a line once per missing column, and a line with too many at its first
    # extra one; one reason per kind of error, fields counted without the line number in
    # front, and one bad line however many kinds it has (an unterminated quote that a
    # later line closes is also too many fields).
    delimiter, width = _literal(layout.delimiter), len(layout.columns)
    unquoted = "true" if not layout.quote else f"position({quote} IN any_value(csv_line)) = 0"
    bad = [
        BadLine(int(number), {"text": text.split(layout.delimiter, 1)[-1]}, reason)
        for number, text, reason in con.execute(
            f"""
            SELECT number, any_value(text), string_agg(reason, '; ' ORDER BY reason)
            FROM (
                SELECT TRY_CAST(split_part(csv_line, {_literal(layout.delimiter)}, 1) AS BIGINT)
                           AS number,
                       any_value(csv_line) AS text,
                       CASE WHEN error_type = 'MISSING COLUMNS'
                            THEN (min(TRY_CAST(regexp_extract(error_message, 'Found: (\\d+)', 1)
                                               AS BIGINT)) - 1)::VARCHAR
                                 || ' fields where the layout has {width}'
                            WHEN error_type = 'TOO MANY COLUMNS' AND {unquoted}
                            THEN (len(string_split(any_value(csv_line), {delimiter})) - 1)::VARCHAR
                                 || ' fields where the layout has {width}'
                            WHEN error_type = 'TOO MANY COLUMNS'
                            THEN 'more than {width} fields where the layout has {width}'
                            ELSE lower(error_type::VARCHAR) || ': ' || any_value(error_message)
                       END AS reason
                FROM rejects GROUP BY number, error_type
            )
            GROUP BY number ORDER BY number
            """
        ).fetchall()
    ]
    # A line neither read nor rejected (a quote left open swallows what follows it) is
    # still a line: found by reading the file again, one whole line per row.
    seen = {b.line for b in bad}
    for number, text in con.execute(
        f"""
        SELECT TRY_CAST(split_part(line, {_literal(layout.delimiter)}, 1) AS BIGINT) AS number,
               line
        FROM read_csv({_literal(str(numbered))}, columns = {{'line': 'VARCHAR'}},
                      header = false, auto_detect = false, delim = '\x01', quote = '',
                      escape = '', strict_mode = false)
        WHERE number NOT IN (SELECT _line FROM lines)
        ORDER BY number
        """
    ).fetchall():
        if number not in seen:
            bad.append(
                BadLine(
                    number,
                    {"text": text.split(layout.delimiter, 1)[-1]},
                    "could not be read: a quote opened and never closed?",
                )
            )
    con.execute(f"CREATE TABLE typed AS {typed_sql(layout, 'lines')}")
    raw_columns = ", ".join(f"lines.{_ident(c)}" for c in layout.columns)
    for row in con.execute(
        f"SELECT t._line, t.problem, {raw_columns} FROM typed t JOIN lines USING (_line) "
        "WHERE t.problem IS NOT NULL ORDER BY t._line"
    ).fetchall():
        bad.append(BadLine(row[0], dict(zip(layout.columns, row[2:], strict=True)), row[1]))
    bad.sort(key=lambda b: b.line)
    con.execute(f"CREATE TABLE merged AS {_calls_sql(layout, location, name, layout_name)}")
    # A call in the file twice is kept once (its first line).
    con.execute(
        "CREATE TABLE calls AS SELECT * FROM merged "
        "QUALIFY row_number() OVER (PARTITION BY line_hash ORDER BY source_line) = 1"
    )
    ((merged, total),) = con.execute(
        "SELECT (SELECT count(*) FROM merged), (SELECT count(*) FROM calls)"
    ).fetchall()
    batches = []
    for offset in range(0, total, BATCH_ROWS):
        table = con.sql(
            f"SELECT * FROM calls ORDER BY source_line LIMIT {BATCH_ROWS} OFFSET {offset}"
        ).to_arrow_table()
        batches.append(table.cast(CALL_SCHEMA))
    return Parsed(batches, bad, 0, 0, merged - total)


def _calls_sql(layout: Layout, location: int, name: str, layout_name: str | None) -> str:
    """The parsed lines as calls: segments merged, the identity hashed."""
    device = _literal(layout.device)
    if layout.merge_segments:
        grouped = """
            SELECT call_id, min(_line) AS source_line, min(call_start_utc) AS call_start_utc,
                arg_min(extension, _line) AS extension,
                arg_min(account_code, _line) FILTER (WHERE account_code IS NOT NULL)
                    AS account_code,
                arg_min(dialled_number, _line) AS dialled_number,
                arg_min(is_outbound, _line) AS is_outbound,
                bool_or(is_internal) AS is_internal,
                bool_and(is_unanswered) AS is_unanswered,
                sum(billable_seconds) AS billable_seconds,
                arg_min(category, _line) AS category,
                sum(cost) AS cost, arg_min(currency, _line) AS currency,
                count(*) AS segments
            FROM typed WHERE problem IS NULL GROUP BY call_id
        """
    else:
        grouped = """
            SELECT call_id, _line AS source_line, call_start_utc, extension, account_code,
                dialled_number, is_outbound, is_internal, is_unanswered, billable_seconds,
                category, cost, currency, 1 AS segments
            FROM typed WHERE problem IS NULL
        """
    identity = (
        f"concat_ws('|', {location}, {device}, call_id)"
        if layout.call_id is not None
        else f"concat_ws('|', {location}, {device}, strftime(call_start_utc, '%Y-%m-%dT%H:%M:%S'),"
        " coalesce(extension, ''), coalesce(dialled_number, ''), billable_seconds)"
    )
    return f"""
        SELECT md5({identity}) AS line_hash, {location}::BIGINT AS location_id,
            {device} AS source_device, {_literal(layout_name or "")} AS layout, call_id,
            call_start_utc, extension, account_code, dialled_number,
            CASE WHEN is_outbound THEN 'outbound' ELSE 'inbound' END AS direction,
            is_internal, NOT is_unanswered AS is_answered, billable_seconds, category, cost,
            currency, segments, {_literal(name)} AS source_file, source_line
        FROM ({grouped})
    """
