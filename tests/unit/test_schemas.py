"""The landed tables' columns: every entity's Arrow schema, against a golden list.

``golden/entity_arrow_schemas.csv`` holds (entity, column, Arrow type, nullable) in column
order. A raw table's columns change only on purpose: a change here is a change to every
warehouse already landed, so the golden list is edited with it, never regenerated blindly.
"""

import csv
from pathlib import Path

from schemas import ENTITIES

GOLDEN = Path(__file__).parent / "golden" / "entity_arrow_schemas.csv"


def test_every_entity_lands_the_columns_and_types_of_the_golden_list():
    with GOLDEN.open(encoding="utf-8", newline="") as file:
        expected = [tuple(row.values()) for row in csv.DictReader(file)]
    landed = [
        (name, field.name, str(field.type), str(field.nullable).lower())
        for name in sorted(ENTITIES)
        for field in ENTITIES[name].arrow_schema
    ]
    assert landed == expected
