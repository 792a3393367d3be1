"""Corrections: which version of each event counts.

A correctie names an earlier event of the same sender (``target_uid``). The latest correctie of a target
(by event time, then uid) decides: ``intrekken`` — the target counts as never sent; ``vervangen`` — its
replacement counts instead (whatever it says, even another child or entity). Corrections take effect whether
they arrive before or after their target, so every arrival order gives the same effective facts. A correctie
whose target has not (yet) arrived is a finding ``correctie_onbekend_doel``; it resolves when the target arrives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from jeugdstroom.registry.handlers.facts import AnyFact, Correction, Finding


def effective(originals: Mapping[str, AnyFact], corrections: Iterable[Correction]) -> dict[str, AnyFact | None]:
    """Per event uid (originals and correction targets): the version that counts, None when withdrawn."""
    last: dict[str, Correction] = {}
    for c in corrections:
        held = last.get(c.target_uid)
        if held is None or c.order > held.order:
            last[c.target_uid] = c
    out: dict[str, AnyFact | None] = dict(originals)
    for uid, c in last.items():
        out[uid] = c.replacement if c.action == "vervangen" else None
    return out


def findings(pseudonym: str, originals: Mapping[str, AnyFact], corrections: Iterable[Correction]) -> list[Finding]:
    """``correctie_onbekend_doel`` for each correctie of this child whose target is not known."""
    return [
        Finding(
            "correctie_onbekend_doel",
            c.uid,
            c.sender,
            f"correctie ({c.action}) names event {c.target_uid.split('/', 1)[1]!r}, which the registry has"
            " not received",
        )
        for c in corrections
        if c.pseudonym == pseudonym and c.target_uid not in originals
    ]
