"""The registry's entity topic (``jeugdstroom.registry.entities``, compacted): the latest version of every registry
entity, for subscribers that bootstrap from the current state (the monitor's ``jeugdstroom rebuild monitor``).

* **key**: :func:`entity_topic_key` — ``<entity>|<pseudonym>|<instelling>|<entity id>`` (UTF-8), one key per entity;
* **value**: the entity's latest version as a registry change *from nothing* (the ``RegistryChange`` contract of
  ``jeugdstroom.registry.changes`` with ``before`` null and ``after`` the version), so folding every record of the
  topic as a change gives the state; ``change_id`` is the id of the change that produced this version;
* **tombstone** (null value) when the entity no longer exists; its ``ce_id`` header is the id of that change.

The registry writes a record in the same transaction and outbox as the change it belongs to. Compaction keeps the
last record per key (the embedded broker does not compact: a reader keeps the last record per key itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jeugdstroom.common.contracts.kinds import KINDS

#: The version field that holds the entity's id, per entity (the registry's own key is ``<instelling>/<id>``): each
#: kind's ``{name}_id``, and the registry's derived entities.
ENTITY_ID_FIELDS: dict[str, str] = {
    **{k.name: k.id_field for k in KINDS},
    "achttien_in_pleegzorg": "plaatsing_id",
    "verblijf_segment": "segment_id",
}


def _id_field(entity: str, names: Any) -> str:
    """The id field of an entity: the registered one, else the only field named ``*_id`` (an entity kind added
    later)."""
    known = ENTITY_ID_FIELDS.get(entity)
    if known is not None:
        return known
    ids = [str(n) for n in names if str(n).endswith("_id")]
    if len(ids) != 1:
        raise ValueError(f"entity {entity!r}: no single *_id field among {sorted(ids)}; add it to ENTITY_ID_FIELDS")
    return ids[0]


def entity_topic_key(entity: str, version: Any) -> str:
    """The entity topic key of an entity version (a contract model or its JSON mapping)."""
    fields = getattr(type(version), "__pydantic_fields__", None)  # a model (the registry's per-change path: no ABC
    if fields is not None:  # isinstance check, no deprecated ``model_fields`` class property)
        ident = getattr(version, _id_field(entity, fields))
        return f"{entity}|{version.pseudonym}|{version.instelling}|{ident}"
    if isinstance(version, Mapping):
        ident = version[_id_field(entity, version.keys())]
        return f"{entity}|{version['pseudonym']}|{version['instelling']}|{ident}"
    ident = getattr(version, _id_field(entity, type(version).model_fields))
    return f"{entity}|{version.pseudonym}|{version.instelling}|{ident}"
