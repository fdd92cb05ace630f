"""Call-log calls as landed in ``raw_calllogs``: one row per call (its segments merged),
normalised from any layout by ``crosswalk.calllogs.parse``, merged by ``line_hash``."""

from crosswalk.entities import Entity
from schemas.base import Field, Flag, Id, Int, Money, Record, Stamp, Text


class Call(Record):
    line_hash: Text = Field(nullable=False, str_length=32)
    location_id: Id = Field(nullable=False)
    source_device: Text = Field(nullable=False)
    layout: Text = Field(nullable=True)
    call_id: Text = Field(nullable=True)
    call_start_utc: Stamp = Field(nullable=False)
    extension: Text = Field(nullable=True)
    account_code: Text = Field(nullable=True)
    dialled_number: Text = Field(nullable=True)
    direction: Text = Field(isin=["outbound", "inbound"])
    is_internal: Flag = Field(nullable=False)
    is_answered: Flag = Field(nullable=False)
    billable_seconds: Int = Field(nullable=False, ge=0)
    category: Text = Field(nullable=True)
    cost: Money = Field(nullable=True)
    currency: Text = Field(nullable=True)
    segments: Int = Field(nullable=False, ge=1)
    source_file: Text = Field(nullable=False)
    source_line: Int = Field(nullable=False, ge=1)

    class Config:
        strict = True  # parsed rows carry exactly these columns (crosswalk.calllogs)


calls = Entity("calllogs", "calls", Call, ("line_hash",))
