"""iJw rules across messages (docs/ijw.md, "iJw rules"): delete-then-resend (OP033, IV008), TR063, TR071, TR413,
TR414, TR415, start/stop without ToewijzingNummer or Product (IV096), and the link JW315 → JW301 → JW305.

The state between messages is kept here as ``store`` keeps it in PostgreSQL (tests/integration/test_ijw.py runs the
real one): the records as converted, the deliveries per message, the toewijzingen with their aanvraag."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from jeugdstroom.intake.ijw.convert import (
    Conversion,
    State,
    StoredDelivery,
    StoredRecord,
    Toewijzing,
    convert,
    message_key,
    placement_key,
)
from jeugdstroom.intake.ijw.mapping import load_mapping
from jeugdstroom.intake.ijw.message import IjwRejected, parse_message

FIXTURES = Path(__file__).parents[1] / "fixtures" / "ijw"
MAPPING = load_mapping()
KEY = b"k" * 16


def _text(name: str) -> str:
    return (FIXTURES / name).read_text()


class Memory:
    """What ``store`` keeps, in memory."""

    def __init__(self) -> None:
        self.records: dict[str, StoredRecord] = {}
        self.deliveries: dict[str, dict[tuple[str, str], StoredDelivery]] = defaultdict(dict)
        self.aanvragen: dict[tuple[str, str], str] = {}
        self.toewijzingen: dict[tuple[str, str, str], tuple[str | None, str | None, str | None]] = {}

    def send(self, xml: str) -> Conversion:
        msg = parse_message(xml.encode())
        mkey = f"{msg.header.afzender}/{message_key(msg)}"
        toewijzingen = {
            nummer: Toewijzing(cat, code, self.aanvragen.get((agb, ref)) if ref else None)
            for (gemeente, agb, nummer), (ref, cat, code) in self.toewijzingen.items()
            if (gemeente, agb) == (msg.header.ontvanger, msg.header.afzender)
        }
        state = State({k: StoredRecord(r.event_id, r.active, r.versions, r.einddatum)
                       for k, r in self.records.items()}, dict(self.deliveries[mkey]), toewijzingen)
        conversion = convert(msg, MAPPING, state, KEY)  # raises: nothing is kept, like a rolled-back transaction
        self.records.update(conversion.records)
        self.deliveries[mkey].update(conversion.deliveries)
        for a in conversion.aanvragen:
            self.aanvragen.setdefault((a.agb, a.referentie), a.aanmelding_id)
        for t in conversion.toegewezen:
            self.toewijzingen[(t.gemeente, t.agb, t.nummer)] = (t.referentie, t.categorie, t.code)
        return conversion

    def events(self, xml: str) -> list[dict[str, Any]]:
        return [d.event for d in self.send(xml).events]

    def refused(self, xml: str) -> list[tuple[str, str]]:
        with pytest.raises(IjwRejected) as info:
            self.send(xml)
        assert info.value.status == 422
        return [(p.element, p.reason) for p in info.value.problems]


def _stop(**changes: str) -> str:
    """jw307_a.xml with other values: identificatie, reden, einddatum, status."""
    text = _text("jw307_a.xml")
    replace = {"identificatie": ">SP-A1<", "reden": "<RedenBeeindiging>33<", "einddatum": "<Einddatum>2026-04-30<",
               "status": "<StatusAanlevering>1<"}
    for name, value in changes.items():
        old = replace[name]
        text = text.replace(old, old[: old.index(">") + 1] + value + "<")
    return text


# -- OP033, IV008: delete, then send again ----------------------------------------------------------------------
def test_a_status_1_after_the_delete_is_a_new_version_whose_values_win() -> None:
    m = Memory()
    (first,) = m.events(_text("jw307_a.xml"))
    (withdrawal,) = m.events(_text("jw307_a_verwijderd.xml"))
    (second,) = m.events(_text("jw307_a_gecorrigeerd.xml"))
    assert withdrawal["type"] == "correctie"
    assert withdrawal["id"] == "ijw:jw307:9000001:2026-02-03:SP-A2:2026-05-04"
    assert withdrawal["data"] == {"target_id": first["id"], "action": "intrekken"}
    assert second["id"] == "ijw:jw307:9000001:2026-02-03:v2:SP-A3:2026-05-04"  # a new event: not a duplicate
    assert second["data"]["plaatsing_id"] == first["data"]["plaatsing_id"]  # of the same plaatsing
    assert second["data"]["end"] == "2026-04-17" and second["occurred_at"] == "2026-04-17T00:00:00+02:00"
    # a second correction round targets the current version
    (again,) = m.events(_stop(identificatie="SP-A4", status="3", einddatum="2026-04-17"))
    assert again["data"]["target_id"] == second["id"]
    (third,) = m.events(_stop(identificatie="SP-A5", einddatum="2026-04-20"))
    assert third["id"] == "ijw:jw307:9000001:2026-02-03:v3:SP-A5:2026-05-01"


def test_delete_and_resend_in_one_message_when_a_key_element_changes() -> None:
    m = Memory()
    (start,) = m.events(_text("jw305_b.xml"))
    withdrawal, corrected = m.events(_text("jw305_b_correctie.xml"))
    assert withdrawal["data"] == {"target_id": start["id"], "action": "intrekken"}
    assert corrected["id"] == "ijw:jw305:9100002:2026-02-10:v2:ST-B3:2026-02-20"
    assert corrected["data"] == {**start["data"], "vorm": "pleegzorg_bestand"}


def test_resending_a_message_yields_its_events_again_whatever_came_after() -> None:
    m = Memory()
    original = m.events(_text("jw307_a.xml"))
    deletion = m.events(_text("jw307_a_verwijderd.xml"))
    corrected = m.events(_text("jw307_a_gecorrigeerd.xml"))
    for name, events in (("jw307_a.xml", original), ("jw307_a_verwijderd.xml", deletion),
                         ("jw307_a_gecorrigeerd.xml", corrected)):
        assert m.events(_text(name)) == events  # intake answers them as duplicates
    assert m.records["jw307:9000001:2026-02-03"].event_id == corrected[0]["id"]  # and the state is unchanged


def test_a_status_1_for_a_current_record_from_another_message_is_the_same_event() -> None:
    m = Memory()
    (first,) = m.events(_text("jw307_a.xml"))
    (same,) = m.events(_stop(identificatie="SP-A9"))
    assert same == first  # unchanged: a duplicate
    (changed,) = m.events(_stop(identificatie="SP-A8", einddatum="2026-05-31"))
    assert changed["id"] == first["id"] and changed["data"] != first["data"]  # changed: intake answers 409 (TR074)


def test_a_message_id_reused_with_other_content_gives_its_first_event_with_the_new_content() -> None:
    m = Memory()
    (first,) = m.events(_text("jw307_a.xml"))
    m.events(_text("jw307_a_verwijderd.xml"))
    (reused,) = m.events(_stop(einddatum="2026-04-01"))  # SP-A1 again, other Einddatum (TR056 broken)
    assert reused["id"] == first["id"] and reused["data"]["end"] == "2026-04-01"  # intake answers 409
    assert not m.records["jw307:9000001:2026-02-03"].active  # and no new version was made


def test_tr063_a_record_is_deleted_once() -> None:
    m = Memory()
    m.events(_text("jw305_c.xml"))
    m.events(_text("jw305_c_verwijderd.xml"))
    again = _text("jw305_c_verwijderd.xml").replace(">ST-C2<", ">ST-C3<")
    assert m.refused(again) == [("/Bericht/Client/StartProducten/StartProduct[1]",
                                 "deletes a record that is not current: it was deleted before (iJw TR063)")]


def test_a_delete_of_a_record_sent_before_jeugdstroom_listened_withdraws_its_first_version() -> None:
    m = Memory()
    (withdrawal,) = m.events(_text("jw305_c_verwijderd.xml"))
    assert withdrawal["data"] == {"target_id": "ijw:jw305:9200001:2026-03-01", "action": "intrekken"}
    (resent,) = m.events(_text("jw305_c.xml").replace(">ST-C1<", ">ST-C9<"))
    assert resent["id"] == "ijw:jw305:9200001:2026-03-01:v2:ST-C9:2026-03-02"


def test_tr071_a_start_whose_stop_was_sent_is_not_deleted() -> None:
    m = Memory()
    m.events(_text("jw305_a.xml"))
    m.events(_text("jw307_a.xml"))
    delete = _text("jw305_a.xml").replace(">ST-A1<", ">ST-A7<").replace("<StatusAanlevering>1<",
                                                                        "<StatusAanlevering>3<")
    assert "(iJw TR071)" in m.refused(delete)[0][1]
    m.events(_text("jw307_a_verwijderd.xml"))
    (withdrawal,) = m.events(delete)  # once the stop is deleted, the start may be
    assert withdrawal["data"]["target_id"] == "ijw:jw305:9000001:2026-02-03"


# -- TR413, TR414, TR415: a temporary stop (RedenBeeindiging 20), then the definitive one ------------------------
def test_a_definitive_stop_after_a_temporary_stop_is_a_second_fact_about_the_plaatsing() -> None:
    m = Memory()
    (temporary,) = m.events(_stop(reden="20", einddatum="2026-04-15"))
    (definitive,) = m.events(_stop(identificatie="SP-A2", reden="31", einddatum="2026-04-30"))
    assert temporary["id"] == "ijw:jw307-20:9000001:2026-02-03"
    assert definitive["id"] == "ijw:jw307:9000001:2026-02-03"
    assert temporary["data"]["plaatsing_id"] == definitive["data"]["plaatsing_id"]
    assert (temporary["data"]["reden_einde"], definitive["data"]["reden_einde"]) == ("anders", "volgens_plan")
    # at an equal Einddatum the definitive stop is the latest fact (event time, then id)
    assert temporary["id"] < definitive["id"]


def test_tr413_a_second_temporary_stop_is_refused() -> None:
    m = Memory()
    m.events(_stop(reden="20", einddatum="2026-04-15"))
    ((element, reason),) = m.refused(_stop(identificatie="SP-A2", reden="20", einddatum="2026-04-20"))
    assert element == "/Bericht/Client/StopProducten/StopProduct[1]" and "(iJw TR413)" in reason


def test_tr414_the_definitive_stop_does_not_end_before_the_temporary_stop() -> None:
    m = Memory()
    m.events(_stop(reden="20", einddatum="2026-04-15"))
    ((element, reason),) = m.refused(_stop(identificatie="SP-A2", reden="31", einddatum="2026-04-14"))
    assert element.endswith("StopProduct[1]/Einddatum") and "(iJw TR414)" in reason
    (same_day,) = m.events(_stop(identificatie="SP-A3", reden="31", einddatum="2026-04-15"))
    assert same_day["data"]["end"] == "2026-04-15"


def test_tr415_no_temporary_stop_after_the_definitive_stop() -> None:
    m = Memory()
    m.events(_stop())
    ((_, reason),) = m.refused(_stop(identificatie="SP-A2", reden="20", einddatum="2026-05-10"))
    assert "(iJw TR415)" in reason


# -- IV096: start and stop without ToewijzingNummer or Product ---------------------------------------------------
def _without(text: str, *elements: str) -> str:
    for name in elements:
        start = text.index(f"<{name}>")
        end = text.index(f"</{name}>") + len(f"</{name}>")
        text = text[:start] + text[end:]
    return text


def test_a_start_without_toewijzingnummer_is_identified_by_child_product_and_begindatum() -> None:
    m = Memory()
    (start,) = m.events(_without(_text("jw305_c.xml"), "ToewijzingNummer"))
    msg = parse_message(_without(_text("jw305_c.xml"), "ToewijzingNummer").encode())
    placement = placement_key(msg, msg.records[0], KEY)
    assert placement is not None and placement.endswith(":37:2026-03-01")
    assert start["id"] == f"ijw:jw305:{placement}" and start["data"]["plaatsing_id"] == f"ijw:{placement}"
    assert "171239003" not in start["id"] and "171239003" not in placement  # a digest of the pseudonym
    other_child = parse_message(_without(_text("jw305_c.xml"), "ToewijzingNummer")
                                .replace(">171239003<", ">938570833<").encode())
    assert placement_key(other_child, other_child.records[0], KEY) != placement
    (withdrawal,) = m.events(_without(_text("jw305_c_verwijderd.xml"), "ToewijzingNummer"))
    assert withdrawal["data"]["target_id"] == start["id"]


def test_a_record_without_product_takes_the_product_of_its_toewijzing() -> None:
    m = Memory()
    m.events(_text("jw315_a.xml"))
    m.events(_text("jw301_a.xml"))
    (start,) = m.events(_without(_text("jw305_a.xml"), "Product"))
    assert start["data"]["vorm"] == "pleegzorg_bestand"  # 44P01 from the JW301


def test_a_record_without_product_and_without_known_toewijzing_is_skipped_not_refused() -> None:
    conversion = Memory().send(_without(_text("jw305_a.xml"), "Product"))
    assert conversion.events == []
    ((skipped),) = conversion.skipped
    assert skipped.element == "/Bericht/Client/StartProducten/StartProduct[1]"
    assert "not known to be a placement" in skipped.reason
    neither = Memory().send(_without(_text("jw307_a.xml"), "ToewijzingNummer", "Product"))
    assert neither.events == [] and len(neither.skipped) == 1


# -- the link JW315 → JW301 → JW305 for the waiting list --------------------------------------------------------
def test_a_start_carries_the_aanmelding_of_its_jw315_through_the_jw301() -> None:
    m = Memory()
    (aanmelding,) = m.events(_text("jw315_a.xml"))
    m.events(_text("jw301_a.xml"))
    (start,) = m.events(_text("jw305_a.xml"))
    (stop,) = m.events(_text("jw307_a.xml"))
    assert start["data"]["aanmelding_id"] == aanmelding["data"]["aanmelding_id"] == "ijw:12345678:A-001"
    assert stop["data"]["aanmelding_id"] == "ijw:12345678:A-001"


@pytest.mark.parametrize("earlier", [[], ["jw315_a.xml"], ["jw301_a.xml"]])
def test_without_its_jw315_and_jw301_a_start_has_no_link(earlier: list[str]) -> None:
    m = Memory()
    for name in earlier:
        m.events(_text(name))
    (start,) = m.events(_text("jw305_a.xml"))
    assert "aanmelding_id" not in start["data"]


def test_the_link_needs_the_same_provider_and_gemeente() -> None:
    m = Memory()
    m.events(_text("jw315_a.xml"))
    m.events(_text("jw301_a.xml").replace("<Afzender>0268<", "<Afzender>0296<"))  # another gemeente's 9000001
    (start,) = m.events(_text("jw305_a.xml"))
    assert "aanmelding_id" not in start["data"]


# -- what the registry makes of it (its pure projection of the converted events) ----------------------------------
def _registry_plaatsing(events: list[dict[str, Any]]) -> Any:
    from jeugdstroom.registry.handlers import care_path
    from jeugdstroom.registry.handlers.facts import Correction, Fact

    pseudonym = "a" * 64
    published = [{**e, "child": {"pseudonym": pseudonym, "birth_date": e["child"]["birth_date"],
                                 "gemeente": e["child"]["gemeente"]}} for e in events]
    originals = {f"{e['sender']}/{e['id']}": Fact.from_json(f"{e['sender']}/{e['id']}", e)
                 for e in published if e["type"] != "correctie"}
    corrections = [Correction.from_json(f"{e['sender']}/{e['id']}", e) for e in published if e["type"] == "correctie"]
    state = care_path.project(pseudonym, originals, corrections, None)
    (episode,) = [ep for (entity, _), ep in state.entities.items() if entity == "plaatsing"]
    return episode


def test_the_registry_takes_the_corrected_stop_after_delete_then_resend() -> None:
    m = Memory()
    events = [e for name in ("jw305_a.xml", "jw307_a.xml", "jw307_a_verwijderd.xml", "jw307_a_gecorrigeerd.xml")
              for e in m.events(_text(name))]
    episode = _registry_plaatsing(events)
    assert (episode.end, episode.reden_einde) == (date(2026, 4, 17), "voortijdig")


def test_the_registry_takes_the_definitive_stop_after_a_temporary_one_on_the_same_day() -> None:
    m = Memory()
    events = [*m.events(_text("jw305_a.xml")), *m.events(_stop(reden="20", einddatum="2026-04-15")),
              *m.events(_stop(identificatie="SP-A2", reden="31", einddatum="2026-04-15"))]
    episode = _registry_plaatsing(events)
    assert (episode.end, episode.reden_einde) == (date(2026, 4, 15), "volgens_plan")
