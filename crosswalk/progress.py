"""What a long step has done of what is known, while it runs.

A step (extracting an entity, pushing lines) reports each page or batch it finishes to a
:class:`Progress`. The log gets a line every few seconds, not one per page: what is done,
of how much when that is known, and the rate. On a terminal, the command line shows a bar
per step (:func:`terminal`); elsewhere (Prefect workers, tests, pipes) there is none.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

LOG_EVERY = 5.0  # seconds between log lines of one step

_bars: Any = None  # the command line's rich Progress while it shows one


@contextmanager
def terminal(console: Any, title: str) -> Iterator[None]:
    """Bars for the steps that run inside, under ``title``, on ``console`` when it is a
    terminal; a spinner with ``title`` alone until the first step starts."""
    global _bars
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    bars = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    bars.add_task(title, total=None, rate="")
    with bars:
        _bars = bars
        try:
            yield
        finally:
            _bars = None


class Progress:
    """One step's count of ``unit`` done (of ``total`` when known)."""

    def __init__(
        self,
        label: str,
        logger: logging.Logger | logging.LoggerAdapter,
        unit: str = "records",
        total: int | None = None,
        every: float = LOG_EVERY,
        clock=time.monotonic,
    ):
        self.label, self.logger, self.unit, self.total = label, logger, unit, total
        self.every, self.clock = every, clock
        self.done = 0
        self.started = self.logged = clock()
        self.bar = _bars.add_task(label, total=total, rate="") if _bars is not None else None

    @property
    def rate(self) -> float:
        elapsed = self.clock() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        of = f" of {self.total:,}" if self.total is not None else ""
        return f"{self.label}: {self.done:,}{of} {self.unit}, {self.rate:,.0f} {self.unit}/s"

    def advance(self, count: int, total: int | None = None) -> None:
        """``count`` more done; ``total`` when the step has learned how many there are."""
        self.done += count
        if total is not None:
            self.total = total
        if self.bar is not None:
            _bars.update(
                self.bar, completed=self.done, total=self.total, rate=f"{self.rate:,.0f}/s"
            )
        if self.clock() - self.logged >= self.every:
            self.logged = self.clock()
            self.logger.info("%s", self.line())

    def close(self, summary: str | None = None, say: bool = True) -> None:
        """The step's last log line (``summary``, else the count; none unless ``say``),
        and its bar removed."""
        if say:
            self.logger.info("%s", summary or self.line())
        if self.bar is not None:
            _bars.remove_task(self.bar)
            self.bar = None
