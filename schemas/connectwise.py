"""ConnectWise Manage entities as landed in ``raw_connectwise`` (field limits from the API)."""

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from crosswalk.entities import Entity

Text = Series[pd.StringDtype]
Id = Series[pd.Int64Dtype]
Flag = Series[pd.BooleanDtype]
Money = Series[pd.Float64Dtype]
Stamp = Series[pd.DatetimeTZDtype(tz="UTC")]


class _Record(pa.DataFrameModel):
    id: Id = pa.Field(nullable=False, ge=1)
    info__last_updated: Stamp = pa.Field(nullable=False)

    class Config:
        coerce = True
        strict = "filter"


class Company(_Record):
    identifier: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 30})
    name: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 50})
    status__name: Text = pa.Field(nullable=True)
    account_number: Text = pa.Field(nullable=True)
    address_line1: Text = pa.Field(nullable=True, str_length={"max_value": 50})
    address_line2: Text = pa.Field(nullable=True, str_length={"max_value": 50})
    city: Text = pa.Field(nullable=True, str_length={"max_value": 50})
    state: Text = pa.Field(nullable=True, str_length={"max_value": 50})
    zip: Text = pa.Field(nullable=True, str_length={"max_value": 12})
    phone_number: Text = pa.Field(nullable=True, str_length={"max_value": 30})
    fax_number: Text = pa.Field(nullable=True, str_length={"max_value": 30})
    website: Text = pa.Field(nullable=True, str_length={"max_value": 255})
    territory__name: Text = pa.Field(nullable=True)
    types: Text = pa.Field(nullable=True)
    deleted_flag: Flag = pa.Field(nullable=True)


class Agreement(_Record):
    name: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 100})
    type__name: Text = pa.Field(nullable=True)
    company__id: Id = pa.Field(nullable=False)
    company__identifier: Text = pa.Field(nullable=True)
    agreement_status: Text = pa.Field(
        nullable=True, isin=["Active", "Cancelled", "Expired", "Inactive"]
    )
    start_date: Stamp = pa.Field(nullable=True)
    end_date: Stamp = pa.Field(nullable=True)
    bill_amount: Money = pa.Field(nullable=True)
    cancelled_flag: Flag = pa.Field(nullable=True)


class Ticket(_Record):
    summary: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 100})
    record_type: Text = pa.Field(
        nullable=True, isin=["ProjectIssue", "ProjectTicket", "ServiceTicket"]
    )
    company__id: Id = pa.Field(nullable=True)
    company__identifier: Text = pa.Field(nullable=True)
    board__name: Text = pa.Field(nullable=True)
    status__name: Text = pa.Field(nullable=True)
    closed_flag: Flag = pa.Field(nullable=True)
    actual_hours: Money = pa.Field(nullable=True, ge=0)


companies = Entity("connectwise", "companies", Company, ("id",), cursor="info__last_updated")
agreements = Entity("connectwise", "agreements", Agreement, ("id",), cursor="info__last_updated")
tickets = Entity("connectwise", "tickets", Ticket, ("id",), cursor="info__last_updated")
