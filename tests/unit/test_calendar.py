"""The shared calendar and vocabulary (jeugdstroom.common.calendar/vocabulary) used by registry and monitor."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import get_args

from jeugdstroom.common import calendar, vocabulary
from jeugdstroom.common.contracts.codes import BeschikkingSoort, PlaatsingVorm


def test_local_day_is_the_amsterdam_day_across_midnight_and_dst() -> None:
    assert calendar.local_day(datetime(2025, 1, 31, 23, 30, tzinfo=UTC)) == date(2025, 2, 1)  # CET = UTC+1
    assert calendar.local_day(datetime(2025, 7, 31, 21, 59, tzinfo=UTC)) == date(2025, 7, 31)  # CEST = UTC+2
    assert calendar.local_day(datetime(2025, 7, 31, 22, 0, tzinfo=UTC)) == date(2025, 8, 1)


def test_birthdays_of_a_leap_day_child_fall_on_the_first_of_march() -> None:
    assert calendar.birthday(date(2008, 2, 29), 21) == date(2029, 3, 1)
    assert calendar.birthday(date(2008, 2, 29), 20) == date(2028, 2, 29)
    assert calendar.eighteenth_birthday(date(2006, 2, 28)) == date(2024, 2, 28)


def test_vocabulary_uses_only_values_of_the_closed_enums() -> None:
    assert set(get_args(PlaatsingVorm)) == vocabulary.VORMEN
    assert vocabulary.PLEEGZORG < vocabulary.GEZINSGERICHT < vocabulary.VORMEN
    assert set(get_args(BeschikkingSoort)) >= vocabulary.JEUGDBESCHERMING
