"""Separatie (and other afzonderingen) during a stay in gesloten jeugdhulp, reported by the closed-care institution:
one event per episode after the fact, or its start and then its end. Its simulator story: told during a gesloten
placement; its indicators the separatie counts, durations and rates of docs/indicators.md (the rates' denominators
are the verblijfsdagen and opnames of the gesloten placements at the institution)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from jeugdstroom.simulator.draws import poisson
from jeugdstroom.simulator.kinds import INST, G, Kind, Moment, R

if TYPE_CHECKING:
    import random

    from jeugdstroom.simulator.story import Story
    from jeugdstroom.simulator.truth import Episode, Truth

TYPE = "separatie"
AMS = ZoneInfo("Europe/Amsterdam")
VORMEN = ("separeerruimte", "afzonderingsruimte", "eigen_kamer_op_slot", "leeggemaakte_kamer")
WEIGHTS = (35, 30, 25, 10)
MEDIAN_MINUTES = {"separeerruimte": 75, "afzonderingsruimte": 25, "eigen_kamer_op_slot": 50, "leeggemaakte_kamer": 110}
#: Argus: separatie episodes of one child at one instelling less than this apart are one intervention.
ARGUS_GAP = timedelta(hours=24)


# -- story --------------------------------------------------------------------------------------------------------
def _during_placement(story: Story, moment: Moment) -> None:
    """Seclusion episodes during a gesloten placement, reported by the closed-care institution (drawn from the
    story's own random stream, right after the placement)."""
    if moment.vorm != "gesloten":
        return
    rng, as_of = story.rng, story.window.as_of
    last = min(moment.end, as_of + timedelta(days=1)) if moment.end else as_of + timedelta(days=1)
    stay = (last - moment.start).days
    if stay <= 0 or rng.random() < 0.45:
        return
    rate = 0.03 * rng.uniform(0.3, 2.0)
    count = min(40, poisson(rng, rate * stay))
    limit = datetime.combine(as_of + timedelta(days=1), time(0), AMS).astimezone(UTC)
    follow: datetime | None = None  # a next episode less than 24 hours after the last one (Argus: one intervention)
    for _ in range(count):
        day = moment.start + timedelta(days=rng.randrange(stay))
        begin = story.moment(day, 0, 24) if rng.random() < 0.25 else story.moment(day, 7, 23)
        if follow is not None and follow < limit:
            begin, follow = follow, None
        vorm = rng.choices(VORMEN, weights=WEIGHTS)[0]
        minutes = MEDIAN_MINUTES[vorm] * math.exp(0.9 * rng.gauss(0.0, 1.0))
        if rng.random() < 0.02:
            minutes *= 20
        finish = begin + timedelta(seconds=max(30, int(minutes * 60)))
        if rng.random() < 0.15:
            follow = finish + timedelta(minutes=rng.randrange(30, 23 * 60))
        _episode(story, moment.sender, vorm, begin, finish, limit)


def _episode(story: Story, sender: str, vorm: str, begin: datetime, finish: datetime, limit: datetime) -> None:
    """One episode's events: its start only while its end is not known (yet), else start and end, or one event."""
    data: dict[str, Any] = {"separatie_id": story.new_id("S"), "vorm": vorm, "start": story.iso(begin)}
    if story.rng.random() < 0.2:
        data["reden"] = "gevaar voor zichzelf of anderen"
    style = story.rng.random()
    if finish >= limit or style < 0.06:  # the end is not known (yet)
        story.emit(TYPE, sender, begin, data)
    elif style < 0.5:  # start and end as two events
        story.emit(TYPE, sender, begin, data)
        story.emit(TYPE, sender, finish, {**data, "end": story.iso(finish)})
    else:  # one event, after the fact
        story.emit(TYPE, sender, finish, {**data, "end": story.iso(finish)})


# -- faults -------------------------------------------------------------------------------------------------------
def _wrong_version(data: dict[str, Any], rng: random.Random) -> bool:
    """A mistake the sender corrects later: an end some minutes too late (none while the end is not known)."""
    if "end" not in data:
        return False
    data["end"] = (datetime.fromisoformat(data["end"]) + timedelta(minutes=rng.randrange(5, 90))).isoformat()
    return True


# -- truth --------------------------------------------------------------------------------------------------------
def _add_truth(truth: Truth, episodes: Mapping[str, list[Episode]]) -> None:
    separaties = episodes.get(TYPE, [])
    for sep in separaties:
        values = {**truth.values_of(sep), "vorm": sep.data["vorm"]}
        start = datetime.fromisoformat(sep.data["start"])
        day = start.astimezone(AMS).date()
        truth.add_count("separaties", values, day)
        truth.add_distinct("gesepareerde_jeugdigen", values, day, truth.bsn)
        if "end" in sep.data:
            seconds = (datetime.fromisoformat(sep.data["end"]).astimezone(UTC) - start.astimezone(UTC)).total_seconds()
            truth.add_duration("separatie_duur", values, day, int(seconds // 60))
    _interventions(truth, separaties)
    for pl in episodes.get("plaatsing", []):
        if pl.data["vorm"] == "gesloten":  # the rates count the days and admissions where the child stays
            at_provider = {INST: pl.data["provider"]}
            admitted = date.fromisoformat(pl.data["start"])
            left = date.fromisoformat(pl.data["end"]) if "end" in pl.data else None
            truth.add_stock("separaties_per_1000_verblijfsdagen:den", at_provider, admitted, left)
            truth.add_count("separaties_per_100_opnames:den", at_provider, admitted)


def _interventions(truth: Truth, separaties: list[Episode]) -> None:
    """Argus: an episode starting less than 24 hours after the end (its start when no end is known) of an earlier
    episode of the child at the same instelling continues that intervention."""

    def when(sep: Episode) -> tuple[datetime, datetime]:
        start = datetime.fromisoformat(sep.data["start"]).astimezone(UTC)
        end = datetime.fromisoformat(sep.data["end"]).astimezone(UTC) if "end" in sep.data else start
        return start, end

    for sep in separaties:
        start, _ = when(sep)
        key = (start, f"{sep.sender}/{sep.data['separatie_id']}")
        continues = False
        for other in separaties:
            o_start, o_end = when(other)
            o_key = (o_start, f"{other.sender}/{other.data['separatie_id']}")
            if other is not sep and other.sender == sep.sender and o_key < key and start - o_end < ARGUS_GAP:
                continues = True
        values = {**truth.values_of(sep), "vorm": sep.data["vorm"]}
        day = start.astimezone(AMS).date()
        if not continues:
            truth.add_count("separatie_interventies", values, day)
            truth.add_count("separaties_per_1000_verblijfsdagen:num", values, day)
            truth.add_count("separaties_per_100_opnames:num", values, day)
        if sep.data["vorm"] == "separeerruimte":
            truth.add_count("separaties_separeerruimte", values, day)
        else:
            truth.add_count("afzonderingen_overig", values, day)


KIND = Kind(
    type=TYPE,
    side_stories={"placement": _during_placement},
    indicators={
        "separaties": ("count", (G, R, INST, "vorm")),
        "separatie_interventies": ("count", (G, R, INST, "vorm")),
        "separaties_separeerruimte": ("count", (G, R, INST)),
        "afzonderingen_overig": ("count", (G, R, INST, "vorm")),
        "separaties_per_1000_verblijfsdagen": ("ratio", (INST,)),
        "separaties_per_100_opnames": ("ratio", (INST,)),
        "gesepareerde_jeugdigen": ("distinct", (G, R, INST)),
        "separatie_duur": ("duration", (G, R, INST, "vorm")),
    },
    add_truth=_add_truth,
    by_age=frozenset({"gesepareerde_jeugdigen"}),
    day_ratios=frozenset({"separaties_per_1000_verblijfsdagen"}),
    ratio_per={"separaties_per_1000_verblijfsdagen": 1000, "separaties_per_100_opnames": 100},
    replace_rate=0.03,
    withdraw_rate=0.015,
    wrong_version=_wrong_version,
)
