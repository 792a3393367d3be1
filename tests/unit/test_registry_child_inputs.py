"""``care_path.ChildInputs``: projecting a child from its own subset of a batch's inputs gives exactly the state
projected from every input (the registry uses the subset so that a batch's work is linear in its size)."""

from __future__ import annotations

from datetime import date

from jeugdstroom.common.contracts.events import event_uid
from jeugdstroom.registry.handlers import care_path
from jeugdstroom.registry.handlers.facts import Correction, Fact
from tests.unit.test_registry_stream import generate


def _inputs(seed: int) -> tuple[dict[str, Fact], list[Correction]]:
    """A generated stream's facts and corrections, plus a vervangen that moves an event to another child."""
    stream = generate(children=80, seed=seed, unknown_targets=5)
    events = list(stream.events)
    target = next(ev for ev in events if ev["type"] == "plaatsing")
    other = next(ev for ev in events if ev["child"]["pseudonym"] != target["child"]["pseudonym"])
    moved = {**target, "child": other["child"]}
    events.append(
        {
            "id": f"move-{seed}",
            "type": "correctie",
            "schema_version": 1,
            "occurred_at": target["occurred_at"],
            "sender": target["sender"],
            "child": target["child"],
            "accepted_at": target.get("accepted_at"),
            "data": {"target_id": target["id"], "action": "vervangen", "replacement": moved},
        }
    )
    originals: dict[str, Fact] = {}
    corrections: list[Correction] = []
    for ev in events:
        uid = event_uid(ev["sender"], ev["id"])
        if ev["type"] == "correctie":
            corrections.append(Correction.from_json(uid, ev))
        else:
            originals.setdefault(uid, Fact.from_json(uid, ev))
    return originals, corrections


def test_each_child_projected_from_its_subset_equals_the_projection_from_everything() -> None:
    for seed in (1, 2, 3):
        originals, corrections = _inputs(seed)
        assert any(c.replacement and c.replacement.pseudonym != c.pseudonym for c in corrections)
        inputs = care_path.ChildInputs(originals, corrections)
        children = {f.pseudonym for f in originals.values()} | {c.pseudonym for c in corrections}
        children |= {c.replacement.pseudonym for c in corrections if c.replacement}
        watermark = date(2025, 12, 24)
        for p in sorted(children):
            sub_originals, sub_corrections = inputs.of(p)
            assert len(sub_originals) < len(originals)
            whole = care_path.project(p, originals, corrections, watermark)
            assert care_path.project(p, sub_originals, sub_corrections, watermark) == whole, p


def test_findings_of_unknown_targets_survive_the_subset() -> None:
    originals, corrections = _inputs(4)
    inputs = care_path.ChildInputs(originals, corrections)
    unknown = [c for c in corrections if c.target_uid not in originals]
    assert unknown
    for c in unknown:
        state = care_path.project(c.pseudonym, *inputs.of(c.pseudonym), None)
        assert ("correctie_onbekend_doel", c.uid) in state.findings
