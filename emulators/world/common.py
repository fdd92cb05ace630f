"""Shared helpers: the clock every date derives from, random streams, reference shapes."""

import random
from datetime import UTC, datetime

ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)
ANCHOR_TS = int(ANCHOR.timestamp())
MINUTE = 60
HOUR = 3600
DAY = 86400
YEAR = 365 * DAY
# The window most records fall in: three years up to the anchor.
START_TS = ANCHOR_TS - 3 * YEAR


def stream(seed: int, part: str) -> random.Random:
    """One independent, reproducible stream per part of the world.

    A str seed goes through SHA-512 (not ``hash()``), so it is stable across processes, and a part
    added later draws from its own stream without shifting any other part.
    """
    return random.Random(f"{seed}:{part}")


_DAYS: dict[int, str] = {}


def iso(ts: int) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` for epoch seconds (UTC), the API's date-time format."""
    day, sec = divmod(ts, DAY)
    date = _DAYS.get(day)
    if date is None:
        date = _DAYS[day] = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%d")
    hour, rest = divmod(sec, HOUR)
    minute, second = divmod(rest, MINUTE)
    return f"{date}T{hour:02d}:{minute:02d}:{second:02d}Z"


def month_start(ts: int, months_ahead: int = 0) -> int:
    """Midnight UTC on the 1st of the month holding ``ts``, moved ``months_ahead`` months."""
    moment = datetime.fromtimestamp(ts, UTC)
    index = moment.year * 12 + moment.month - 1 + months_ahead
    return int(datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC).timestamp())


def midnight(ts: int) -> int:
    return ts - ts % DAY


def info(updated: int, updated_by: str, entered: int, entered_by: str) -> dict[str, str]:
    """A record's ``_info``: strings only (pyconnectwise types it ``dict[str, str]``)."""
    return {
        "lastUpdated": iso(updated),
        "updatedBy": updated_by,
        "dateEntered": iso(entered),
        "enteredBy": entered_by,
    }


def between(rng: random.Random, low: int, high: int) -> int:
    """A moment in [low, high], or ``low`` when the window is already closed."""
    return rng.randint(low, max(low, high))


def clip(text: str, limit: int) -> str:
    """Cut to a field's maximum length, never leaving a trailing space or separator."""
    return text if len(text) <= limit else text[:limit].rstrip(" -,&")


def money(value: float) -> float:
    return float(round(value, 2))
