"""Schema compatibility: may a contract change be released without a new ``schema_version``?

Compares a released JSON Schema (``docs/schemas/``) with the one the contracts produce now, as pydantic writes
them (``$defs``/``$ref``, ``anyOf``/``oneOf``, ``discriminator``, ``enum``/``const``, ``required``). The rules
(docs/schema-evolution.md) protect both directions, since subscribers read new records with old code and
jeugdstroom replays old records with new code:

* compatible: a new optional property; a new member of a *discriminated* union (a new event type or registry
  entity: readers skip kinds they do not know); a new enum value where the released schema marks the enum open
  (``"x-open-enum": true``); changes of titles, descriptions, examples and defaults;
* breaking: a removed property; a property that becomes required, or stops being required; a new required
  property; a changed or narrowed type (a removed or added alternative of a non-discriminated union, e.g.
  dropping ``null``); a removed enum value, or an added one in a closed enum; a changed ``const``; a changed
  value constraint (pattern, format, length, range); a removed union member; a removed schema file.

A breaking change is allowed only together with a higher ``schema_version`` (consumers tell versions apart and
dead-letter versions they do not know instead of misreading them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Marks an enum whose value set may grow within a major version (consumers must accept unknown values).
OPEN_ENUM = "x-open-enum"
#: Keywords that restrict values; any change to one is breaking.
CONSTRAINTS = (
    "pattern",
    "format",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
)

Schema = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Change:
    """One breaking difference: where (file and dotted path) and what."""

    file: str
    path: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '(root)'}: {self.kind}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome for one schema file."""

    file: str
    breaking: tuple[Change, ...]
    old_versions: frozenset[int]
    new_versions: frozenset[int]

    @property
    def version_bumped(self) -> bool:
        return bool(self.new_versions) and max(self.new_versions) > max(self.old_versions, default=0)

    @property
    def ok(self) -> bool:
        """No breaking change, or breaking changes that come with a higher schema_version while every released
        version is still accepted (older records stay readable: replays, late senders)."""
        return not self.breaking or (self.version_bumped and self.old_versions <= self.new_versions)


class _Walker:
    def __init__(self, file: str, old_root: Schema, new_root: Schema) -> None:
        self.file = file
        self.old_root = old_root
        self.new_root = new_root
        self.seen: set[tuple[str, str]] = set()

    def deref(self, schema: Schema, root: Schema) -> Schema:
        """Follow ``$ref`` (and a single-member ``allOf``) to the schema it names."""
        for _ in range(64):
            if "$ref" in schema:
                ref = str(schema["$ref"])
                if not ref.startswith("#/"):
                    raise ValueError(f"only local references are supported, got {ref}")
                target: Any = root
                for part in ref[2:].split("/"):
                    target = target[part.replace("~1", "/").replace("~0", "~")]
                schema = target
            elif "allOf" in schema and len(schema["allOf"]) == 1:
                schema = schema["allOf"][0]
            else:
                return schema
        raise ValueError("reference cycle")

    def compare(self, old: Schema, new: Schema, path: str) -> Iterator[Change]:
        pair = (json.dumps(old, sort_keys=True), json.dumps(new, sort_keys=True))
        if "$ref" in old and "$ref" in new:
            key = (str(old["$ref"]), str(new["$ref"]))
            if key in self.seen:
                return
            self.seen.add(key)
        elif pair[0] == pair[1] and "$ref" not in pair[0]:
            return
        old = self.deref(old, self.old_root)
        new = self.deref(new, self.new_root)
        old_alts, new_alts = _alternatives(old), _alternatives(new)
        if old_alts is not None or new_alts is not None:
            yield from self.compare_union(old, new, path)
            return
        yield from self.compare_plain(old, new, path)

    def compare_union(self, old: Schema, new: Schema, path: str) -> Iterator[Change]:
        old_disc, new_disc = self.members(old, self.old_root), self.members(new, self.new_root)
        if old_disc is not None and new_disc is not None:
            for tag, member in old_disc.items():
                if tag not in new_disc:
                    yield self.change(path, "union member removed", f"{tag!r} is no longer accepted")
                else:
                    yield from self.compare(member, new_disc[tag], _join(path, tag))
            return  # new tags are compatible: readers skip kinds they do not know
        old_alts = _alternatives(old) or [old]
        new_alts = _alternatives(new) or [new]
        used: set[int] = set()
        for alt in old_alts:
            kind = _kind(alt)
            candidates = [i for i, n in enumerate(new_alts) if i not in used and _kind(n) == kind]
            exact = next((i for i in candidates if not any(self.fork().compare(alt, new_alts[i], path))), None)
            if exact is not None:
                used.add(exact)
            elif candidates:
                used.add(candidates[0])
                yield from self.compare(alt, new_alts[candidates[0]], path)
            else:
                yield self.change(path, "type narrowed", f"alternative {_describe(alt)} removed")
        for i, alt in enumerate(new_alts):
            if i not in used:
                yield self.change(path, "type widened", f"alternative {_describe(alt)} added")

    def members(self, schema: Schema, root: Schema) -> dict[str, Schema] | None:
        """Members of a discriminated union by tag, or None when ``schema`` is not one."""
        disc = schema.get("discriminator")
        alts = _alternatives(schema)
        if disc is None or alts is None:
            return None
        prop = str(disc["propertyName"]) if isinstance(disc, Mapping) else str(disc)
        out: dict[str, Schema] = {}
        for alt in alts:
            tag = self.deref(alt, root).get("properties", {}).get(prop, {})
            for value in _values(tag) or [_describe(alt)]:
                out[str(value)] = alt
        return out

    def compare_plain(self, old: Schema, new: Schema, path: str) -> Iterator[Change]:
        old_types, new_types = _types(old), _types(new)
        if old_types != new_types:
            yield self.change(path, "type changed", f"{sorted(old_types)} -> {sorted(new_types)}")
            return
        yield from self.compare_values(old, new, path)
        for kw in CONSTRAINTS:
            if old.get(kw) != new.get(kw):
                yield self.change(path, "constraint changed", f"{kw}: {old.get(kw)!r} -> {new.get(kw)!r}")
        if _closed(old) != _closed(new):
            yield self.change(path, "additionalProperties changed", f"{_closed(old)} -> {_closed(new)} (closed)")
        old_props: Mapping[str, Any] = old.get("properties", {})
        new_props: Mapping[str, Any] = new.get("properties", {})
        old_req, new_req = set(old.get("required", ())), set(new.get("required", ()))
        for name, schema in old_props.items():
            sub = _join(path, name)
            if name not in new_props:
                yield self.change(sub, "property removed", f"{name!r} is gone")
                continue
            if name in new_req and name not in old_req:
                yield self.change(sub, "became required", f"{name!r} was optional")
            if name in old_req and name not in new_req:
                yield self.change(sub, "no longer required", f"{name!r} was always present")
            yield from self.compare(schema, new_props[name], sub)
        for name in new_props:
            if name not in old_props and name in new_req:
                yield self.change(_join(path, name), "new required property", f"{name!r} is required")
        if "items" in old or "items" in new:
            yield from self.compare(old.get("items", {}), new.get("items", {}), _join(path, "[]"))

    def compare_values(self, old: Schema, new: Schema, path: str) -> Iterator[Change]:
        old_vals, new_vals = _values(old), _values(new)
        if old_vals is None and new_vals is None:
            return
        if old_vals is None or new_vals is None:
            yield self.change(path, "enum changed", f"{_describe(old)} -> {_describe(new)}")
            return
        removed = [v for v in old_vals if v not in new_vals]
        added = [v for v in new_vals if v not in old_vals]
        if "const" in old and "const" in new and removed:
            yield self.change(path, "const changed", f"{old['const']!r} -> {new['const']!r}")
            return
        if removed:
            yield self.change(path, "enum value removed", ", ".join(repr(v) for v in removed))
        if added and not old.get(OPEN_ENUM):
            yield self.change(path, "enum value added to a closed enum", ", ".join(repr(v) for v in added))

    def fork(self) -> _Walker:
        w = _Walker(self.file, self.old_root, self.new_root)
        w.seen = set(self.seen)
        return w

    def change(self, path: str, kind: str, detail: str) -> Change:
        return Change(self.file, path, kind, detail)


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def _alternatives(schema: Schema) -> list[Schema] | None:
    for kw in ("anyOf", "oneOf"):
        if kw in schema:
            return list(schema[kw])
    return None


def _kind(schema: Schema) -> str:
    """What kind of alternative a union member is, to pair members across versions."""
    if "$ref" in schema:
        return "ref:" + str(schema["$ref"]).rsplit("/", 1)[-1]
    if "const" in schema:
        return f"const:{schema['const']!r}"
    return "type:" + ",".join(sorted(_types(schema)))


def _types(schema: Schema) -> frozenset[str]:
    t = schema.get("type")
    if t is None:
        return frozenset({"object"}) if "properties" in schema else frozenset()
    return frozenset([t] if isinstance(t, str) else t)


def _values(schema: Schema) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    if "enum" in schema:
        return list(schema["enum"])
    return None


def _closed(schema: Schema) -> bool:
    return schema.get("additionalProperties") is False


def _describe(schema: Schema) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    return json.dumps({k: v for k, v in schema.items() if k not in ("title", "description")}, sort_keys=True)


def schema_versions(schema: Any) -> frozenset[int]:
    """Every value a ``schema_version`` property may take anywhere in a schema."""
    found: set[int] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            props = node.get("properties")
            if isinstance(props, Mapping) and isinstance(props.get("schema_version"), Mapping):
                found.update(v for v in _values(props["schema_version"]) or [] if isinstance(v, int))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return frozenset(found)


def compare(file: str, old: Schema, new: Schema) -> Report:
    """Breaking differences between a released schema and a new one."""
    walker = _Walker(file, old, new)
    breaking = tuple(dict.fromkeys(walker.compare(old, new, "")))
    return Report(file, breaking, schema_versions(old), schema_versions(new))


def compare_all(released: Mapping[str, Schema], current: Mapping[str, Schema]) -> list[Report]:
    """One report per released schema file (a released file that no longer exists is breaking)."""
    reports = []
    for name, old in sorted(released.items()):
        if name not in current:
            gone = Change(name, "", "schema removed", "the contract no longer exists")
            reports.append(Report(name, (gone,), schema_versions(old), frozenset()))
        else:
            reports.append(compare(name, old, current[name]))
    return reports


def load_released(folder: Path) -> dict[str, dict[str, Any]]:
    """The released schemas: every ``*.schema.json`` in ``folder`` (empty when the folder does not exist)."""
    if not folder.is_dir():
        return {}
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.glob("*.schema.json"))}


def problems(released: Mapping[str, Schema], current: Mapping[str, Schema]) -> list[str]:
    """Human-readable breaking changes that lack a schema_version bump (empty: compatible)."""
    return [str(c) for r in compare_all(released, current) if not r.ok for c in r.breaking]
