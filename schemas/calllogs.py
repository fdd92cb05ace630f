"""Call-log calls as landed in ``raw_calllogs``: one row per call (its segments merged),
normalised from any layout by ``crosswalk.calllogs.parse``, merged by ``line_hash``."""

import pandera.pandas as pa

from crosswalk.entities import Entity
from schemas.base import Flag, Id, Int, Money, Record, Stamp, Text


class Call(Record):
    line_hash: Text = pa.Field(nullable=False, str_length=32)
    location_id: Id = pa.Field(nullable=False)
    source_device: Text = pa.Field(nullable=False)
    layout: Text = pa.Field(nullable=True)
    call_id: Text = pa.Field(nullable=True)
    call_start_utc: Stamp = pa.Field(nullable=False)
    extension: Text = pa.Field(nullable=True)
    account_code: Text = pa.Field(nullable=True)
    dialled_number: Text = pa.Field(nullable=True)
    direction: Text = pa.Field(isin=["outbound", "inbound"])
    is_internal: Flag = pa.Field(nullable=False)
    is_answered: Flag = pa.Field(nullable=False)
    billable_seconds: Int = pa.Field(nullable=False, ge=0)
    category: Text = pa.Field(nullable=True)
    cost: Money = pa.Field(nullable=True)
    currency: Text = pa.Field(nullable=True)
    segments: Int = pa.Field(nullable=False, ge=1)
    source_file: Text = pa.Field(nullable=False)
    source_line: Int = pa.Field(nullable=False, ge=1)

    class Config:
        strict = True  # parsed rows carry exactly these columns (crosswalk.calllogs)


calls = Entity("calllogs", "calls", Call, ("line_hash",))
