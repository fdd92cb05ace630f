"""The models of every landed entity, one module per system, each declared as a pandera
model is (without importing pandera: :mod:`schemas.base`) and as an
:class:`crosswalk.entities.Entity` with its primary key and cursor; the column types and
the base model they share are in :mod:`schemas.base`."""

from crosswalk.entities import Entity
from schemas import calllogs, connectwise, eautomate, operate

ENTITIES: dict[str, Entity] = {
    str(entity): entity
    for module in (connectwise, eautomate, operate, calllogs)
    for entity in vars(module).values()
    if isinstance(entity, Entity)
}
