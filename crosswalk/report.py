"""A run's failure report, rendered: the e-mail subject, its plain-text and HTML parts,
and the Prefect artifact's markdown. Pure: data in, strings out; no I/O.

Every report reads the same way: what happened to the run, then new failures, then the
ones still open (each in at most ``report.max_times`` reports), then those resolved
since the last report, each section grouped by owner (what to fix and where: PSA data,
ERP data, Operate data, configuration) and code, each line naming the record, the
problem and the fix. A run that cannot complete says so once when it starts failing and
once when it recovers. Every value from a system or a message is escaped for the
format it lands in: a customer named ``<script>`` is text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby

from crosswalk import codes
from crosswalk.errors import OWNER_TITLES, ErrorRow, Failure, Findings, Owner, Section
from crosswalk.records import SYSTEM_NAMES

OWNER_ORDER = [Owner.PSA, Owner.ERP, Owner.OPERATE, Owner.CONFIG]


@dataclass(frozen=True)
class EntityCounts:
    entity: str
    read: int
    landed: int
    inserted: int
    updated: int
    quarantined: int


@dataclass(frozen=True)
class Report:
    """One run of one flow and what its report must say."""

    flow: str
    run_id: str
    status: str  # completed | failed
    finished_at: datetime
    findings: Findings
    plan: bool = False
    entities: tuple[EntityCounts, ...] = ()
    models: str | None = None
    group_limit: int = 50  # lines per owner and code; the rest are counted, not listed
    # Found before the run's own writes settled them: listed once, nothing to do.
    fixed: tuple[Failure, ...] = ()
    inbox_url: str | None = None  # [inbox] base_url: each failure links to its inbox page
    # What the run took back from the systems into a new or lost warehouse, one a line.
    rebuilt: tuple[str, ...] = ()

    def inbox_link(self, row: ErrorRow) -> str | None:
        """The failure's page in the operators' inbox, where ``[inbox] base_url`` is set."""
        return f"{self.inbox_url.rstrip('/')}/errors/{row.error_id}" if self.inbox_url else None

    @property
    def kind(self) -> str:
        """``started`` (the flow began failing), ``recovered``, or ``report``."""
        return self.findings.outage.event if self.findings.outage else "report"

    @property
    def still_open_count(self) -> int:
        return len(self.findings.still_open) + self.findings.hidden


# ---------------------------------------------------------------------------------------
# Words shared by every format


def _one_line(text: object) -> str:
    """Control characters and line breaks become spaces: one value, one line."""
    return re.sub(r"[\x00-\x1f\x7f\s]+", " ", str(text)).strip()


def _stamp(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def counts(report: Report) -> str:
    f = report.findings
    fixed = f", {len(report.fixed)} fixed by this run" if report.fixed else ""
    return (
        f"{len(f.new)} new, {report.still_open_count} still open, {len(f.resolved)} resolved"
        + fixed
    )


REBUILT_TITLE = "Rebuilt from the systems"
REBUILT_NOTE = (
    "This warehouse held no earlier run of the flow (new, or lost and made again): what "
    "follows was read back from the systems instead of being made again."
)
FIXED_TITLE = "Fixed by this run"
FIXED_NOTE = (
    "Found at the start of this run and settled by its own writes (each one is in "
    "sync.push_log): nothing to do."
)


def _cause(report: Report) -> str:
    causes = report.findings.outage.causes if report.findings.outage else ()
    row = causes[0] if causes else report.findings.run_error
    if row is None:
        return "see the report"
    system = SYSTEM_NAMES.get(row.system, row.system)
    return {
        "system-unreachable": f"{system} unreachable",
        "credentials-refused": f"{system} refused the credentials",
        "config-invalid": "configuration error",
        "models-failed": "warehouse models failed",
    }.get(row.code, "unexpected error")


def subject(report: Report) -> str:
    """``[crosswalk] customer-sync completed: 2 new, 3 still open, 1 resolved``."""
    flow = _one_line(report.flow)
    if report.kind == "started":
        outcome = f"FAILED, could not complete ({_cause(report)})"
    elif report.kind == "recovered":
        runs = _plural(report.findings.outage.failed_runs, "failed run")
        outcome = f"recovered after {runs}"
    elif report.status == "failed":
        outcome = f"still failing ({_cause(report)})"
    else:
        outcome = report.status
    plan = " (plan)" if report.plan else ""
    return f"[crosswalk] {flow}{plan} {outcome}: {counts(report)}"


def _headline(report: Report) -> str:
    run = f"(run {report.run_id[:8]})"
    when = _stamp(report.finished_at)
    outage = report.findings.outage
    if report.kind == "started":
        return f"{report.flow} could not complete at {when} {run}."
    if report.kind == "recovered":
        return (
            f"{report.flow} recovered: this run completed at {when} {run} after "
            f"{_plural(outage.failed_runs, 'failed run')} since {_stamp(outage.started_at)}."
        )
    if report.status == "failed":
        return f"{report.flow} still cannot complete at {when} {run}."
    return f"{report.flow} {report.status} at {when} {run}" + (
        " as a plan: nothing was written to any system." if report.plan else "."
    )


def _totals(report: Report) -> str | None:
    if not report.entities:
        return None
    read = sum(e.read for e in report.entities)
    landed = sum(e.landed for e in report.entities)
    quarantined = sum(e.quarantined for e in report.entities)
    names = ", ".join(e.entity for e in report.entities)
    return f"Read {read} records ({names}), landed {landed}, quarantined {quarantined}."


def _where(row: ErrorRow) -> str:
    """``ConnectWise Manage companies 111``: the record in its own system's terms."""
    if row.entity == "run":
        return SYSTEM_NAMES.get(row.system, row.system)
    record = "" if row.record_id.startswith("unkeyed-") else f" {row.record_id}"
    return f"{SYSTEM_NAMES.get(row.system, row.system)} {row.entity}{record}"


def by_owner_and_code(
    rows: Iterable[ErrorRow | Failure],
) -> Iterator[tuple[str, str, list[ErrorRow | Failure]]]:
    """(owner title, code, rows) in owner order, then code, then record: how a report
    and the inbox's Waiting page group failures (anything with ``owner``, ``code``,
    ``title`` and ``record_id``)."""

    def order(row: ErrorRow) -> tuple:
        owner = OWNER_ORDER.index(row.owner) if row.owner in OWNER_ORDER else len(OWNER_ORDER)
        return (owner, row.owner, row.code, row.title.lower(), row.record_id)

    for (_, owner, code), group in groupby(sorted(rows, key=order), key=lambda r: order(r)[:3]):
        yield OWNER_TITLES.get(owner, owner), code, list(group)


def _groups(
    rows: Section | Iterable[Failure],
) -> Iterator[tuple[str, str, list[ErrorRow | Failure], int]]:
    """:func:`by_owner_and_code` with each group's size: in a section, every failure of
    the owner and code, listed or not."""
    for owner, code, group in by_owner_and_code(rows):
        size = rows.size(group[0].owner, code) if isinstance(rows, Section) else len(group)
        yield owner, code, group, size


def _more(report: Report, group: list, size: int, owner: str, code: str) -> str | None:
    """The line that stands for the rest of a group longer than the report lists; the
    rest of what the run fixed itself is only in its writes."""
    extra = size - report.group_limit
    if extra <= 0:
        return None
    where = (
        f"this run's writes in sync.push_log (run {report.run_id[:8]})"
        if isinstance(group[0], Failure)
        else f"crosswalk errors list --flow {report.flow}"
    )
    return f"... and {extra} more ({owner}, {code}), not listed here: {where}"


def _code_title(code: str) -> str:
    title = codes.title(code)
    return f"{code}: {title}" if title else code


_COLUMNS = {
    "open": ("Record", "Problem", "Fix", "Error"),
    "resolved": ("Record", "Problem it had", "Resolved", "Error"),
}


def _problem_and_remedy(row: ErrorRow, section: str) -> tuple[str, str]:
    if section == "resolved":
        return row.message, _stamp(row.resolved_at)
    return row.message, row.fix


def _seen(row: ErrorRow, max_times: int, section: str) -> str:
    seen = f"first seen {_stamp(row.first_seen_at)}"
    if section == "open":
        return f"{seen}, in {row.times_reported + 1} of at most {max_times} reports"
    if section == "resolved":
        return f"{seen}, resolved {_stamp(row.resolved_at)}"
    if section == "run" and row.status == "resolved":
        return f"{seen}, last seen {_stamp(row.last_seen_at)}"
    return seen


def _sections(report: Report) -> list[tuple[str, str, tuple[ErrorRow, ...]]]:
    f = report.findings
    hidden = f"; {f.hidden} more only in the errors view" if f.hidden else ""
    return [
        ("new", f"New failures ({len(f.new)})", f.new),
        ("open", f"Still open ({len(f.still_open)}{hidden})", f.still_open),
        ("resolved", f"Resolved since the last report ({len(f.resolved)})", f.resolved),
    ]


def _run_rows(report: Report) -> tuple[str, tuple[ErrorRow, ...]] | None:
    """The run-level block: what stopped the run, or what it had failed with."""
    outage = report.findings.outage
    if report.kind == "started":
        return ("Why the run could not complete", outage.causes)
    if report.kind == "recovered":
        return ("What the failed runs had failed with (now resolved)", outage.causes)
    if report.findings.run_error is not None:
        return ("Why the run could not complete", (report.findings.run_error,))
    return None


def _footer(report: Report) -> list[str]:
    f = report.findings
    lines = []
    if report.kind == "started":
        lines.append(
            "You get one e-mail when a flow starts failing and one when it recovers, "
            "not one per failed run."
        )
    if f.hidden:
        verb = "was" if f.hidden == 1 else "were each"
        lines.append(
            f"{_plural(f.hidden, 'open failure')} {verb} in {f.max_times} reports already: "
            "no longer e-mailed, still in the errors view."
        )
    lines.append(f"All open failures: crosswalk errors list --flow {report.flow}")
    lines.append("One failure in full: crosswalk errors show <error id>")
    return lines


# ---------------------------------------------------------------------------------------
# Plain text


def text(report: Report) -> str:
    out = [_one_line(_headline(report))]
    if totals := _totals(report):
        out.append(_one_line(totals))
    out += ["", f"Failures: {counts(report)}."]
    if run := _run_rows(report):
        title, rows = run
        out += ["", title.upper(), "=" * len(title)]
        for row in rows:
            out += _text_row(row, report, "run")
    for section, title, rows in _sections(report):
        if not rows:
            continue
        out += ["", title.upper(), "=" * len(title)]
        for owner, code, group, size in _groups(rows):
            heading = _one_line(f"{owner} / {_code_title(code)} ({size})")
            out += ["", heading, "-" * min(len(heading), 78)]
            for row in group[: report.group_limit]:
                out += _text_row(row, report, section)
            if more := _more(report, group, size, owner, code):
                out.append(_one_line(more))
    if report.fixed:
        title = f"{FIXED_TITLE} ({len(report.fixed)})"
        out += ["", title.upper(), "=" * len(title), FIXED_NOTE]
        for owner, code, group, size in _groups(report.fixed):
            heading = _one_line(f"{owner} / {_code_title(code)} ({size})")
            out += ["", heading, "-" * min(len(heading), 78)]
            for row in group[: report.group_limit]:
                out += [
                    f"* {_one_line(row.title)} ({_one_line(_where(row))})",
                    f"  Was:     {_one_line(row.message)}",
                ]
            if more := _more(report, group, size, owner, code):
                out.append(_one_line(more))
    if report.rebuilt:
        out += ["", REBUILT_TITLE.upper(), "=" * len(REBUILT_TITLE), REBUILT_NOTE]
        out += [f"* {_one_line(line)}" for line in report.rebuilt]
    out += ["", "--", *(_one_line(line) for line in _footer(report))]
    return "\n".join(out) + "\n"


def _text_row(row: ErrorRow, report: Report, section: str) -> list[str]:
    problem = "Was:    " if section == "resolved" else "Problem:"
    lines = [
        f"* {_one_line(row.title)} ({_one_line(_where(row))})",
        f"  {problem} {_one_line(row.message)}",
    ]
    if section != "resolved":
        lines.append(f"  Fix:     {_one_line(row.fix)}")
        if inbox := report.inbox_link(row):
            lines.append(f"  Inbox:   {_one_line(inbox)}")
    if href := _href(row.url):
        lines.append(f"  Open:    {_one_line(href)}")
    lines.append(f"  Error:   {row.error_id}, {_seen(row, report.findings.max_times, section)}")
    return lines


# ---------------------------------------------------------------------------------------
# HTML (every interpolated value goes through _e)


def _e(value: object) -> str:
    return html.escape(_one_line(value), quote=True)


def _href(url: str | None) -> str | None:
    return url if url and re.match(r"^https?://", url) else None


_CELL = "padding:4px 8px;border-bottom:1px solid #ddd;vertical-align:top;text-align:left"
_SECTION_COLOURS = {"run": "#b00020", "new": "#b00020", "open": "#8a5a00", "resolved": "#1b5e20"}


def html_body(report: Report) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"><title>' + _e(subject(report)) + "</title></head>",
        '<body style="font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#222">',
        f"<p><strong>{_e(_headline(report))}</strong></p>",
    ]
    if totals := _totals(report):
        out.append(f"<p>{_e(totals)}</p>")
    out.append(f"<p>Failures: {_e(counts(report))}.</p>")
    if run := _run_rows(report):
        title, rows = run
        out.append(_html_heading(title, "run"))
        out.append(_html_table(rows, report, "run"))
    for section, title, rows in _sections(report):
        if not rows:
            continue
        out.append(_html_heading(title, section))
        for owner, code, group, size in _groups(rows):
            out.append(
                f'<h3 style="font-size:15px;margin:16px 0 4px">{_e(owner)} &middot; '
                f"<code>{_e(code)}</code> ({size})</h3>"
            )
            if meaning := codes.title(code):
                out.append(f'<p style="margin:0 0 6px;color:#555">{_e(meaning)}</p>')
            out.append(_html_table(group[: report.group_limit], report, section))
            if more := _more(report, group, size, owner, code):
                out.append(f"<p>{_e(more)}</p>")
    if report.fixed:
        out.append(_html_heading(f"{FIXED_TITLE} ({len(report.fixed)})", "resolved"))
        out.append(f"<p>{_e(FIXED_NOTE)}</p>")
        for owner, code, group, size in _groups(report.fixed):
            out.append(
                f'<h3 style="font-size:15px;margin:16px 0 4px">{_e(owner)} &middot; '
                f"<code>{_e(code)}</code> ({size})</h3>"
            )
            cells = "".join(
                f'<tr><td style="{_CELL}">{_html_record(row)}</td>'
                f'<td style="{_CELL}">{_e(row.message)}</td></tr>'
                for row in group[: report.group_limit]
            )
            out.append(
                '<table style="border-collapse:collapse;width:100%;margin-bottom:8px">'
                f'<tr><th style="{_CELL}">Record</th><th style="{_CELL}">Was</th></tr>'
                f"{cells}</table>"
            )
            if more := _more(report, group, size, owner, code):
                out.append(f"<p>{_e(more)}</p>")
    if report.rebuilt:
        out.append(_html_heading(REBUILT_TITLE, "resolved"))
        out.append(f"<p>{_e(REBUILT_NOTE)}</p>")
        out.append("<ul>" + "".join(f"<li>{_e(line)}</li>" for line in report.rebuilt) + "</ul>")
    out.append('<hr style="border:none;border-top:1px solid #ccc;margin-top:24px">')
    out += [f'<p style="color:#555;font-size:12px">{_e(line)}</p>' for line in _footer(report)]
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _html_record(row: ErrorRow | Failure) -> str:
    """The record's label, linked where it has a web address, and where it is."""
    record = _e(row.title)
    if href := _href(row.url):
        record = f'<a href="{html.escape(href, quote=True)}">{record}</a>'
    return f'{record}<br><small style="color:#555">{_e(_where(row))}</small>'


def _html_heading(title: str, section: str) -> str:
    colour = _SECTION_COLOURS[section]
    return (
        f'<h2 style="font-size:17px;color:{colour};border-bottom:2px solid {colour};'
        f'margin-top:24px">{_e(title)}</h2>'
    )


def _html_table(rows: Iterable[ErrorRow], report: Report, section: str) -> str:
    titles = _COLUMNS["resolved" if section == "resolved" else "open"]
    head = "".join(f'<th style="{_CELL}">{h}</th>' for h in titles)
    body = []
    for row in rows:
        problem, remedy = _problem_and_remedy(row, section)
        problem, remedy = _e(problem), _e(remedy)
        if section != "resolved" and (inbox := _href(report.inbox_link(row))):
            remedy = f'<a href="{html.escape(inbox, quote=True)}">{remedy}</a>'
        max_times = report.findings.max_times
        body.append(
            f'<tr><td style="{_CELL}">{_html_record(row)}</td>'
            f'<td style="{_CELL}">{problem}</td><td style="{_CELL}">{remedy}</td>'
            f'<td style="{_CELL}"><code>{_e(row.error_id)}</code><br>'
            f'<small style="color:#555">{_e(_seen(row, max_times, section))}</small></td></tr>'
        )
    return (
        '<table style="border-collapse:collapse;width:100%;margin-bottom:8px">'
        f"<tr>{head}</tr>{''.join(body)}</table>"
    )


# ---------------------------------------------------------------------------------------
# Markdown (the Prefect artifact)

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#!|~])")


def _md(value: object) -> str:
    return _MD_SPECIAL.sub(r"\\\1", _one_line(value))


def markdown(report: Report, delivery: str | None = None) -> str:
    """The artifact: the run's landing counts, then the same sections as the e-mail."""
    plan = " (plan only)" if report.plan else ""
    out = [f"# {_md(report.flow)}: {_md(report.status)}{plan}", "", _md(_headline(report))]
    if report.entities:
        out += [
            "",
            "| entity | read | landed | new | changed | quarantined |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for e in report.entities:
            out.append(
                f"| {_md(e.entity)} | {e.read} | {e.landed} | {e.inserted} | {e.updated} "
                f"| {e.quarantined} |"
            )
    if report.models:
        out += ["", f"dbt build: {_md(report.models)}"]
    out += ["", f"**Failures:** {_md(counts(report))}."]
    if run := _run_rows(report):
        title, rows = run
        out += ["", f"## {_md(title)}", "", *_md_table(rows, report.findings.max_times, "run")]
    for section, title, rows in _sections(report):
        if not rows:
            continue
        out += ["", f"## {_md(title)}"]
        for owner, code, group, size in _groups(rows):
            out += ["", f"### {_md(owner)} · {_md(code)} ({size})", ""]
            out += _md_table(group[: report.group_limit], report.findings.max_times, section)
            if more := _more(report, group, size, owner, code):
                out += ["", _md(more)]
    if report.fixed:
        out += ["", f"## {_md(FIXED_TITLE)} ({len(report.fixed)})", "", _md(FIXED_NOTE)]
        for owner, code, group, size in _groups(report.fixed):
            out += ["", f"### {_md(owner)} · {_md(code)} ({size})", ""]
            out += ["| record | was |", "| --- | --- |"]
            out += [
                f"| {_md_record(row)} | {_md(row.message)} |" for row in group[: report.group_limit]
            ]
            if more := _more(report, group, size, owner, code):
                out += ["", _md(more)]
    if report.rebuilt:
        out += ["", f"## {_md(REBUILT_TITLE)}", "", _md(REBUILT_NOTE), ""]
        out += [f"- {_md(line)}" for line in report.rebuilt]
    if delivery:
        out += ["", f"E-mail: {_md(delivery)}"]
    out += ["", *(_md(line) for line in _footer(report))]
    return "\n".join(out) + "\n"


def _md_table(rows: Iterable[ErrorRow], max_times: int, section: str) -> list[str]:
    titles = _COLUMNS["resolved" if section == "resolved" else "open"]
    out = ["| " + " | ".join(t.lower() for t in titles) + " |", "| --- | --- | --- | --- |"]
    for row in rows:
        problem, remedy = _problem_and_remedy(row, section)
        out.append(
            f"| {_md_record(row)} | {_md(problem)} | {_md(remedy)} "
            f"| `{row.error_id}` {_md(_seen(row, max_times, section))} |"
        )
    return out


def _md_record(row: ErrorRow | Failure) -> str:
    record = _md(row.title)
    if href := _href(row.url):
        record = f"[{record}]({href.replace(' ', '%20').replace(')', '%29')})"
    return f"{record} ({_md(_where(row))})"


# ---------------------------------------------------------------------------------------
# The per-attempt e-mail of ERP calls sent to the PSA (ID912): one line per call tried,
# the first column OK or FAIL, as the incumbent's users read it.


@dataclass(frozen=True)
class AttemptLine:
    ok: bool
    call: str
    customer: str
    outcome: str  # the ticket made, or why not
    fix: str = ""


@dataclass(frozen=True)
class Attempts:
    flow: str
    run_id: str
    finished_at: datetime
    lines: tuple[AttemptLine, ...]

    @property
    def failed(self) -> int:
        return sum(not line.ok for line in self.lines)


ATTEMPT_COLUMNS = ("Result", "Call", "Customer", "Ticket or reason", "Fix")


def attempts_subject(attempts: Attempts) -> str:
    """``[crosswalk] service-sync: 5 calls sent to the PSA, 1 FAIL``."""
    n = len(attempts.lines)
    return (
        f"[crosswalk] {_one_line(attempts.flow)}: {_plural(n, 'call')} sent to the PSA, "
        f"{attempts.failed} FAIL"
    )


def _attempt_cells(line: AttemptLine) -> tuple[str, ...]:
    return ("OK" if line.ok else "FAIL", line.call, line.customer, line.outcome, line.fix)


ATTEMPTS_HINT = (
    "A call is on hold either way; take a FAIL call off hold in e-automate once fixed "
    "(or crosswalk calls retry CALL) and the next run tries it again."
)


def _attempts_headline(attempts: Attempts) -> str:
    return _one_line(
        f"ERP calls sent to the PSA at {_stamp(attempts.finished_at)} "
        f"(run {attempts.run_id[:8]}): {len(attempts.lines)} tried, {attempts.failed} FAIL."
    )


def attempts_text(attempts: Attempts) -> str:
    out = [
        _attempts_headline(attempts),
        ATTEMPTS_HINT,
        "",
        " | ".join(ATTEMPT_COLUMNS),
    ]
    out += [" | ".join(_one_line(c) for c in _attempt_cells(line)) for line in attempts.lines]
    return "\n".join(out) + "\n"


def attempts_html(attempts: Attempts) -> str:
    head = "".join(f'<th style="{_CELL}">{_e(c)}</th>' for c in ATTEMPT_COLUMNS)
    body = []
    for line in attempts.lines:
        colour = "#1b5e20" if line.ok else "#b00020"
        cells = _attempt_cells(line)
        body.append(
            "<tr>"
            + f'<td style="{_CELL};color:{colour};font-weight:bold">{_e(cells[0])}</td>'
            + "".join(f'<td style="{_CELL}">{_e(c)}</td>' for c in cells[1:])
            + "</tr>"
        )
    return "\n".join([
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"><title>' + _e(attempts_subject(attempts))
        + "</title></head>",
        '<body style="font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#222">',
        f"<p>{_e(_attempts_headline(attempts))}</p>",
        f"<p>{_e(ATTEMPTS_HINT)}</p>",
        f'<table style="border-collapse:collapse"><thead><tr>{head}</tr></thead>',
        "<tbody>", *body, "</tbody></table>",
        "</body></html>",
    ]) + "\n"  # fmt: skip
