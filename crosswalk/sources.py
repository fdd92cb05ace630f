"""Where an entity's records come from: pages of records in the API's own shape.

A source yields :class:`Page` objects in cursor order, so the pipeline can land each
page with its watermark in one transaction and a crash resumes from the last page
landed. System clients provide sources as their issues land; :class:`ExportFolder`
reads JSON exports from a folder and serves offline loads and the fixture demo.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from crosswalk.config import ConfigError, Settings
from crosswalk.connectwise import ENDPOINTS, ConnectWise, literal
from crosswalk.eautomate import CODE_LISTS, DETAILS, EAutomate
from crosswalk.entities import Entity, flatten, utc_stamp
from crosswalk.http import DataError
from crosswalk.operate import Operate


@dataclass(frozen=True)
class Page:
    """Records read in one call, where each came from, an explicit watermark if the
    system hands one out (None: the greatest cursor value among the landed rows), and how
    many records the whole read holds when the system said (for progress).

    ``ordered``: the read returns its records in cursor order, so the greatest cursor read
    so far is a safe watermark before the read ends. Pages in another order (ConnectWise's
    and Operate's, by id) move the watermark only once every page is read: a batch's
    greatest cursor may be later than records of pages still to come, and a run stopped
    there would never read them."""

    records: list[dict[str, Any]]
    sources: list[str] | None = None
    watermark: str | None = None
    total: int | None = None
    ordered: bool = False


class Source(Protocol):
    def pages(
        self, entity: Entity, since: str | None, parents: list[Any] | None = None
    ) -> Iterator[Page]:
        """Pages of records changed at or after ``since`` (everything when None); for a
        child entity, the collections of the ``parents`` given."""
        ...


class ExportFolder:
    """``<folder>/<system>/<entity>.json``: a JSON array of records as the API returns them."""

    def __init__(self, folder: Path, page_size: int = 1000):
        self.folder = folder
        self.page_size = page_size

    def pages(
        self, entity: Entity, since: str | None, parents: list[Any] | None = None
    ) -> Iterator[Page]:
        path = self.folder / entity.system / f"{entity.collection}.json"
        if not path.exists():
            return
        try:
            records = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: line {exc.lineno}: not valid JSON: {exc.msg}") from None
        if entity.fields:  # as the API answers ``fields=``: only those, when present
            records = [{k: r[k] for k in entity.fields if k in r} for r in records]
        numbered = [(f"{path.name}#{i + 1}", r) for i, r in enumerate(records)]
        if entity.cursor:
            numbered = [(s, r) for s, r in numbered if _at_or_after(entity, r, since)]
            numbered.sort(
                key=lambda pair: _cursor(entity, pair[1]) or datetime.max.replace(tzinfo=UTC)
            )
        for start in range(0, len(numbered), self.page_size):
            chunk = numbered[start : start + self.page_size]
            yield Page([r for _, r in chunk], [s for s, _ in chunk], ordered=True)


def prefetched(pages: Iterator[Page], depth: int = 2) -> Iterator[Page]:
    """``pages`` read ahead by a thread, up to ``depth`` pages: the next request is in
    flight while the current page is validated and landed. An error reading raises here,
    where the page would have come; leaving early stops the reader after its request."""
    ahead: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def read() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        ahead.put((page, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ahead.put((done, None))
        except BaseException as exc:  # handed to the consumer, raised in its thread
            ahead.put((done, exc))

    reader = threading.Thread(target=read, name="crosswalk-prefetch", daemon=True)
    reader.start()
    try:
        while True:
            page, error = ahead.get()
            if page is done:
                if error is not None:
                    raise error
                return
            yield page
    finally:
        stop.set()
        reader.join(timeout=60)


def _cursor(entity: Entity, record: dict[str, Any]) -> datetime | None:
    """None when unreadable: such a record is always read, so validation quarantines it."""
    return utc_stamp(flatten(record).get(entity.cursor))


def _at_or_after(entity: Entity, record: dict[str, Any], since: str | None) -> bool:
    stamp = _cursor(entity, record)
    return since is None or stamp is None or stamp >= utc_stamp(since)


class ConnectWiseSource:
    """Changes read from the ConnectWise API: ``lastUpdated >= since``, forward-only; an
    entity without a cursor whole, only its ``fields`` when it names some.

    Child collections (sites, additions) exist only per parent record; the pipeline
    names the parents whose records changed in this run (all of them on a full refresh).
    A child changed without its parent changing is picked up by the next full refresh.
    """

    def __init__(self, client: ConnectWise):
        self.client = client

    def pages(
        self, entity: Entity, since: str | None, parents: list[Any] | None = None
    ) -> Iterator[Page]:
        path = ENDPOINTS[entity.collection]
        if entity.parent is not None:
            # A few records per parent: gather them into full pages, one landing each.
            batch: list[dict[str, Any]] = []
            for parent_id in parents or []:
                for records in self.client.pages(path.format(id=parent_id)):
                    batch += records
                if len(batch) >= self.client.page_size:
                    yield Page(batch)
                    batch = []
            if batch:
                yield Page(batch)
            return
        stamp = utc_stamp(since) if entity.cursor else None
        conditions = f"lastUpdated >= {literal(stamp)}" if stamp else None
        fields = ",".join(entity.fields) or None
        # A whole read of a changing entity (a first run, a full refresh) is the long one:
        # its count, one request more once its first page is full (while that page is
        # validated), lets its progress say how much is left. Reads of changes, and small
        # collections read whole every run, do without; a count refused costs the total,
        # not the read.
        total, first = None, entity.cursor and since is None
        for records in self.client.pages(path, conditions, fields=fields):
            if first:
                first, total = False, len(records)
                if total >= self.client.page_size:
                    total = None
                    with contextlib.suppress(DataError):
                        total = self.client.count(path)
            yield Page(records, total=total)


class EAutomateSource:
    """Changes read from e-automate: the server's ``TimeStamp`` first, then the rows listed
    as changed at or after the watermark (skinny), then their full records in bulk, up to
    500 a call, each call a page.

    Pages go in ``LastUpdate`` order. A page's watermark is the earlier of the server's
    stamp and the last ``LastUpdate`` it holds, so a run that stops between pages resumes
    without a gap; the last page's (or, when nothing changed, an empty page's) is the
    stamp itself. Date-times get the dealer's offset here, so they land as UTC. Code lists
    are read whole every run.
    """

    def __init__(self, client: EAutomate):
        self.client = client

    def pages(
        self, entity: Entity, since: str | None, parents: list[Any] | None = None
    ) -> Iterator[Page]:
        client = self.client
        if entity.name == "code_lists":
            yield Page(
                [
                    {"ListType": list_type, **code}
                    for list_type in (*CODE_LISTS, "HoldCode", "OnHoldCode")
                    for code in client.code_list(list_type)
                ]
            )
            return
        key = DETAILS[entity.name].key
        changes = client.changes(entity.name, client.local(since) if since else None)
        stamp = client.instant(changes.stamp)

        def listed(row: dict[str, Any]) -> datetime:
            """A row's ``LastUpdate``; one that cannot be read comes first (its record is
            read, and validation says what is wrong with it)."""
            try:
                return client.instant(row["LastUpdate"])
            except (KeyError, TypeError, ValueError):
                return datetime.min.replace(tzinfo=UTC)

        rows = sorted(changes.rows, key=lambda row: (listed(row), row[key]))
        if not rows:
            yield Page([], watermark=stamp.isoformat())
            return
        chunks = [rows[i : i + client.chunk] for i in range(0, len(rows), client.chunk)]
        if entity.name == "technicians":  # the list rows are the records
            records = iter(chunks)
        else:
            records = client.details(entity.name, [row[key] for row in rows])
        for n, (chunk, found) in enumerate(zip(chunks, records, strict=True)):
            last = listed(chunk[-1])
            watermark = stamp if n == len(chunks) - 1 else min(stamp, last)
            yield Page(
                client.with_offsets(found, in_place=True),
                watermark=watermark.isoformat(),
                total=len(rows),
            )


class OperateSource:
    """Operate records read from its API: an entity with a cursor from ``updated_since``,
    the small collections whole every run."""

    def __init__(self, client: Operate):
        self.client = client

    def pages(
        self, entity: Entity, since: str | None, parents: list[Any] | None = None
    ) -> Iterator[Page]:
        stamp = utc_stamp(since) if entity.cursor else None
        updated_since = stamp.strftime("%Y-%m-%dT%H:%M:%SZ") if stamp is not None else None
        for records in self.client.collection(entity.name, updated_since):
            yield Page(records)


def open_source(settings: Settings, system: str, flow: str) -> Source:
    """The source that reads ``system`` for ``flow``, with its secrets checked first."""
    config = settings.system(system, flow)
    if config.fixtures:
        return ExportFolder(config.fixtures, config.page_size)
    secrets = settings.resolve_secrets([system])
    if system == "connectwise":
        return ConnectWiseSource(ConnectWise.from_settings(config, secrets[system]))
    if system == "eautomate":
        return EAutomateSource(EAutomate.from_settings(config, secrets[system]))
    if system == "operate":
        return OperateSource(Operate.from_settings(config, secrets[system]))
    raise ConfigError(
        f"systems.{system}: reading the {system} API is not available in this version; "
        f"set systems.{system}.fixtures to a folder of JSON exports"
    )
