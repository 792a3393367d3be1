"""One child's care path: its state as a pure function of its effective facts, and the diff of two states.

The registry never updates an entity in place: for every child a batch touches it projects the whole state from
the child's facts (after corrections) and the watermark, and emits the difference with the stored state. The
result therefore depends only on the set of facts, never on the order in which they arrived.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from jeugdstroom.common.contracts.kinds.aanmelding import AanmeldingEpisode
from jeugdstroom.common.contracts.kinds.beschikking import BeschikkingEpisode
from jeugdstroom.common.contracts.kinds.plaatsing import PlaatsingEpisode
from jeugdstroom.common.contracts.kinds.separatie import SeparatieEpisode
from jeugdstroom.registry import entities
from jeugdstroom.registry.entities import ID_FIELDS, Episode
from jeugdstroom.registry.handlers import child, correctie, derived
from jeugdstroom.registry.handlers.facts import AnyFact, Correction, Finding, geslacht, replaced

__all__ = [
    "ENTITIES",
    "ID_FIELDS",
    "ChildDiff",
    "ChildInputs",
    "ChildState",
    "Episode",
    "diff",
    "entity_key",
    "project",
]

#: (entity, key): entity is the change's ``entity`` value, key ``{instelling}/{entity id}``.
EntityKey = tuple[str, str]
FindingKey = tuple[str, str]  # (kind, subject)

#: Every entity name (``entities.ENTITIES``' order).
ENTITIES: tuple[str, ...] = tuple(entities.ENTITIES)


def entity_key(entity: str, ep: Episode) -> EntityKey:
    return entity, f"{ep.instelling}/{getattr(ep, ID_FIELDS[entity])}"


@dataclass
class ChildState:
    pseudonym: str
    child: child.ChildRecord | None = None
    entities: dict[EntityKey, Episode] = field(default_factory=dict)
    findings: dict[FindingKey, Finding] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EntityChange:
    entity: str
    key: str
    before: Episode | None
    after: Episode | None


@dataclass
class ChildDiff:
    pseudonym: str
    changes: list[EntityChange]
    opened: list[Finding]  # new findings, or open findings whose reason changed
    resolved: list[Finding]
    child_before: child.ChildRecord | None
    child_after: child.ChildRecord | None

    @property
    def child_changed(self) -> bool:
        return self.child_before != self.child_after

    @property
    def empty(self) -> bool:
        return not (self.changes or self.opened or self.resolved or self.child_changed)


def _projected(facts: list[AnyFact], found: list[Finding]) -> dict[str, list[tuple[Episode, str | None]]]:
    """Each event-sourced entity by its own projection (``entities.ENTITIES``), with the aanmelding it names; the
    projections' findings are added to ``found``."""
    groups: dict[tuple[str, str], list[AnyFact]] = defaultdict(list)
    for f in facts:
        groups[(f.type, f.key)].append(f)
    projected: dict[str, list[tuple[Episode, str | None]]] = {name: [] for name in entities.EVENT_ENTITIES}
    for (kind, _), group in sorted(groups.items()):
        spec = entities.ENTITIES[kind]
        assert spec.project is not None, kind
        ep, fs = spec.project(group)
        projected[kind].append((ep, spec.names_aanmelding(group) if spec.names_aanmelding else None))
        found += fs
    return projected


def project(
    pseudonym: str,
    originals: Mapping[str, AnyFact],
    corrections: Iterable[Correction],
    watermark: date | None,
    continuering_days: int = derived.CONTINUERING_DAYS,
) -> ChildState:
    """The child's state from every original event and correction that may concern it.

    ``originals`` and ``corrections`` may include events of other children (e.g. a target whose replacement moved
    it to this child); only the effective facts about ``pseudonym`` count.
    """
    corrections = list(corrections)
    facts = [
        f for f in correctie.effective(originals, corrections).values() if f is not None and f.pseudonym == pseudonym
    ]
    found: list[Finding] = correctie.findings(pseudonym, originals, corrections)
    projected = _projected(facts, found)
    aanm = [ep for ep, _ in projected["aanmelding"] if isinstance(ep, AanmeldingEpisode)]
    besch = [derived.Linked(ep, a) for ep, a in projected["beschikking"] if isinstance(ep, BeschikkingEpisode)]
    plaats_linked = [derived.Linked(ep, a) for ep, a in projected["plaatsing"] if isinstance(ep, PlaatsingEpisode)]
    seps = [ep for ep, _ in projected["separatie"] if isinstance(ep, SeparatieEpisode)]

    plaats, overlaps = derived.plaatsingen(
        [lk.episode for lk in plaats_linked if isinstance(lk.episode, PlaatsingEpisode)]
    )
    found += overlaps
    plaats = derived.instroom(plaats)
    found += derived.link_findings({a.aanmelding_id for a in aanm}, [*besch, *plaats_linked])
    achttien, pending = derived.achttien(plaats, watermark, continuering_days)

    state = ChildState(pseudonym, child.project(facts, pending))
    by_entity: dict[str, Sequence[Episode]] = {
        **{name: [ep for ep, _ in eps] for name, eps in projected.items()},  # as projected, unless derived below
        "aanmelding": derived.aanmeldingen(aanm, besch, plaats_linked),
        "beschikking": [lk.episode for lk in besch],
        "plaatsing": plaats,
        "separatie": derived.separaties(seps),
        "achttien_in_pleegzorg": achttien,
        "verblijf_segment": derived.segmenten(plaats),
    }
    assert by_entity.keys() == entities.ENTITIES.keys()
    g = geslacht(facts)  # a child-level field: every entity of the child carries the latest known one
    out = state.entities
    for entity, episodes in by_entity.items():
        ident = ID_FIELDS[entity]
        for ep in episodes:
            if ep.geslacht != g:
                ep = replaced(ep, {"geslacht": g})
            out[entity, f"{ep.instelling}/{getattr(ep, ident)}"] = ep  # entity_key(entity, ep)
    state.findings = {(f.kind, f.subject): f for f in found}
    return state


class ChildInputs:
    """The originals and corrections of a batch, indexed so that each child's :func:`project` gets only what may
    concern it (projecting every child from every input of the batch is quadratic in the batch size).

    For child ``p`` that is: its own originals, the targets of corrections that name ``p`` or move an event to ``p``,
    and every correction of each of those targets (so the effective version of each is exact). :func:`project`
    gives the same state from this subset as from the whole batch: every effective fact about ``p`` has its uid in
    the subset, and every ``correctie_onbekend_doel`` candidate of ``p`` has its target in it when it is known.
    """

    def __init__(self, originals: Mapping[str, AnyFact], corrections: Iterable[Correction]) -> None:
        self.originals = originals
        self.by_child: dict[str, set[str]] = defaultdict(set)  # pseudonym → uids that may concern it
        self.by_target: dict[str, list[Correction]] = defaultdict(list)
        for uid, f in originals.items():
            self.by_child[f.pseudonym].add(uid)
        for c in corrections:
            self.by_target[c.target_uid].append(c)
            self.by_child[c.pseudonym].add(c.target_uid)
            if c.replacement is not None:
                self.by_child[c.replacement.pseudonym].add(c.target_uid)

    def of(self, pseudonym: str) -> tuple[dict[str, AnyFact], list[Correction]]:
        uids = self.by_child.get(pseudonym, set())
        originals = {u: self.originals[u] for u in uids if u in self.originals}
        return originals, [c for u in sorted(uids) for c in self.by_target.get(u, ())]


def _differ(old: Episode | None, new: Episode | None) -> bool:
    """``old != new`` for two versions of an entity: pydantic's ``__eq__`` for contract models (same class, same
    field values; they have no private attributes, extras or other instance attributes) without its generic path."""
    if old is None or new is None:
        return old is not new
    return old.__class__ is not new.__class__ or old.__dict__ != new.__dict__


def diff(before: ChildState, after: ChildState) -> ChildDiff:
    """What changed from ``before`` to ``after``: entity changes (only where before != after) and findings."""
    was, now = before.entities, after.entities
    changes = [
        EntityChange(key[0], key[1], old, new)
        for key in sorted(was.keys() | now.keys())
        if _differ(old := was.get(key), new := now.get(key))
    ]
    opened = [f for k, f in sorted(after.findings.items()) if before.findings.get(k) != f]
    resolved = [f for k, f in sorted(before.findings.items()) if k not in after.findings]
    return ChildDiff(after.pseudonym, changes, opened, resolved, before.child, after.child)
