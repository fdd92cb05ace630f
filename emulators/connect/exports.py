"""Connect's call-logger exports, rendered from ``connect.calls`` at download time in the
three formats of specs/call-logs.md. Each is one DuckDB query that builds the lines; times
are the site's local time (Europe/London), the range is by the call's start date.

- ``generic``: a header row, one row per call (segments merged), a ``Total`` footer row;
  blank account codes, internal and unanswered calls at zero cost.
- ``smdr``: IP Office-like, no header, one row per segment (a transferred call is two
  rows sharing the Call ID, Continuation 1 then 0), 26 fields, ``9`` before outside
  numbers, internal calls counted as ``O``, no cost.
- ``cdr``: Asterisk-like, no header, every text field quoted (``clid`` embeds quotes),
  ``answer`` empty when unanswered, ``duration`` >= ``billsec``, ``uniqueid`` per call.
"""

from __future__ import annotations

from datetime import date, timedelta

from emulators.framework import Store

FORMATS = ("generic", "smdr", "cdr")
GENERIC_HEADER = (
    "CallDate,CallTime,Extension,AccountCode,DialledNumber,Direction,Duration,"
    "BillableSeconds,Category,Cost,Currency"
)
LOCAL = "timezone('Europe/London', timezone('UTC', {0}))"

# One row per call: the first segment's fields, the segments' seconds and cost summed.
_CALLS = f"""
    SELECT call_id, min(started_at) AS started_at,
           {LOCAL.format("min(started_at)")} AS local_start,
           arg_min(extension, segment) AS extension,
           arg_min(extension_name, segment) AS extension_name,
           arg_min(account_code, segment) AS account_code,
           arg_min(caller, segment) AS caller,
           arg_min(dialled_number, segment) AS dialled_number,
           arg_min(direction, segment) AS direction,
           bool_or(is_internal) AS is_internal,
           arg_min(disposition, segment) AS disposition,
           arg_min(category, segment) AS category,
           sum(cost) AS cost, arg_min(currency, segment) AS currency,
           arg_min(ring_seconds, segment) AS ring_seconds,
           sum(connected_seconds) AS billable_seconds
    FROM connect.calls
    WHERE site_id = $site AND started_at >= $start AND started_at < $end
    GROUP BY call_id
"""


def _hms(seconds: str) -> str:
    return (
        f"lpad(({seconds} // 3600)::VARCHAR, 2, '0') || ':' || "
        f"lpad(({seconds} % 3600 // 60)::VARCHAR, 2, '0') || ':' || "
        f"lpad(({seconds} % 60)::VARCHAR, 2, '0')"
    )


def _quoted(text: str) -> str:
    return f"""'"' || replace(coalesce({text}, ''), '"', '""') || '"'"""


def _plain(text: str) -> str:
    """A field quoted only when it holds the delimiter or a quote."""
    value = f"coalesce({text}, '')"
    return (
        f"""CASE WHEN {value} LIKE '%,%' OR {value} LIKE '%"%' """
        f"""THEN '"' || replace({value}, '"', '""') || '"' ELSE {value} END"""
    )


GENERIC = f"""
    WITH calls AS ({_CALLS})
    SELECT line FROM (
        SELECT 0 AS part, 0 AS call_id, '{GENERIC_HEADER}' AS line
        UNION ALL
        SELECT 1, call_id, concat_ws(',',
            strftime(local_start, '%Y-%m-%d'), strftime(local_start, '%H:%M:%S'),
            extension, {_plain("account_code")},
            CASE WHEN direction = 'I' AND NOT is_internal THEN caller ELSE dialled_number END,
            direction, {_hms("(ring_seconds + billable_seconds)")},
            billable_seconds::VARCHAR, category, printf('%.3f', cost), currency)
        FROM calls
        UNION ALL
        SELECT 2, 0, 'Total,,,,,,,,,' || printf('%.3f', coalesce(sum(cost), 0)) || ',GBP'
        FROM calls
    ) ORDER BY part, call_id
"""

SMDR = f"""
    SELECT concat_ws(',',
        strftime({LOCAL.format("started_at")}, '%Y/%m/%d %H:%M:%S'),
        {_hms("connected_seconds")}, ring_seconds::VARCHAR,
        CASE WHEN direction = 'I' AND NOT is_internal THEN caller ELSE extension END,
        CASE WHEN is_internal THEN 'O' ELSE direction END,
        CASE WHEN direction = 'O' THEN '9' || dialled_number ELSE dialled_number END,
        CASE WHEN direction = 'O' THEN '9' || dialled_number ELSE dialled_number END,
        coalesce(account_code, ''), CASE WHEN is_internal THEN '1' ELSE '0' END,
        call_id::VARCHAR, CASE WHEN segment < segments THEN '1' ELSE '0' END,
        CASE WHEN segment = 1 THEN 'E' ELSE 'V' END || extension, extension_name,
        party2, party2_name, '0', '0', '0', 'n/a', '', '', '', '', '', '', '') AS line
    FROM connect.calls
    WHERE site_id = $site AND started_at >= $start AND started_at < $end
    ORDER BY started_at, call_id, segment
"""

# Caller id as Asterisk writes it: "Name" <number>.
CLID = (
    "'\"' || CASE WHEN direction = 'I' AND NOT is_internal THEN caller ELSE extension_name END"
    " || '\" <' || src || '>'"
)
CDR = f"""
    WITH calls AS ({_CALLS}),
    shaped AS (
        SELECT *,
            CASE WHEN direction = 'I' AND NOT is_internal THEN caller ELSE extension END AS src,
            CASE WHEN direction = 'I' AND NOT is_internal THEN extension
                 ELSE dialled_number END AS dst,
            disposition = 'ANSWERED' AS answered
        FROM calls
    )
    SELECT concat_ws(',',
        {_quoted("account_code")}, {_quoted("src")}, {_quoted("dst")},
        {
    _quoted(
        "CASE WHEN direction = 'I' AND NOT is_internal THEN 'from-trunk' ELSE 'from-internal' END"
    )
},
        {_quoted(CLID)},
        {_quoted("'PJSIP/' || src || '-' || lpad(printf('%x', call_id % 65536), 8, '0')")},
        {
    _quoted(
        "'PJSIP/' || CASE WHEN direction = 'O' AND NOT is_internal THEN 'trunk' "
        "ELSE dst END || '-' || lpad(printf('%x', call_id % 65536 + 1), 8, '0')"
    )
},
        {_quoted("'Dial'")},
        {
    _quoted(
        "'PJSIP/' || dst || CASE WHEN direction = 'O' AND NOT is_internal THEN '@trunk' ELSE '' END"
    )
},
        {_quoted("strftime(local_start, '%Y-%m-%d %H:%M:%S')")},
        {
    _quoted(
        "CASE WHEN answered THEN strftime(local_start + to_seconds(ring_seconds), "
        "'%Y-%m-%d %H:%M:%S') END"
    )
},
        {
    _quoted(
        "strftime(local_start + to_seconds(ring_seconds + billable_seconds), '%Y-%m-%d %H:%M:%S')"
    )
},
        (ring_seconds + billable_seconds)::VARCHAR, billable_seconds::VARCHAR,
        {_quoted("disposition")}, {_quoted("'DOCUMENTATION'")},
        {_quoted("epoch(started_at)::BIGINT::VARCHAR || '.' || call_id::VARCHAR")},
        {_quoted("''")}) AS line
    FROM shaped
    ORDER BY started_at, call_id
"""

QUERIES = {"generic": GENERIC, "smdr": SMDR, "cdr": CDR}


def render(store: Store, site: int, first: date, last: date, fmt: str) -> str:
    """The export of ``site``'s calls started from ``first`` to ``last`` (inclusive)."""
    rows = store.query(
        QUERIES[fmt],
        {"site": site, "start": first, "end": last + timedelta(days=1)},
    )
    return "".join(line + "\r\n" for (line,) in rows)
