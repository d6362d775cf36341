"""Public holidays and make-up working days from the maintained `holidays` library, for business calendars.

A calendar file says `public_holidays = "CN"`; at config load the loader asks this module for that country's
days off, make-up working days (调休) and the years they cover, and hands them to the (pure) calendar. The
covered years are those the library has official data for: for mainland China the years of the State
Council's notices it records (later years it only estimates, without make-up days, so they are not covered).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import holidays as holidays_library

_DAY = timedelta(days=1)
_ANNOUNCED_YEARLY = frozenset({"CN"})
"""Countries whose holidays and make-up days are set by a yearly announcement: only announced years count."""


class UnknownCountry(ValueError):
    """A `public_holidays` country the library does not know."""


@dataclass(frozen=True, slots=True)
class PublicHolidays:
    """A country's days off and make-up working days over the years its data covers (inclusive)."""

    country: str
    years: tuple[int, int]
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]

    def as_calendar_data(self) -> dict[str, Any]:
        """The keys `calendar_from_mapping` reads."""
        return {"holidays": sorted(self.holidays), "makeup_workdays": sorted(self.makeup_workdays),
                "holiday_years": list(self.years)}


def public_holidays(country: str) -> PublicHolidays:
    """The library's public holidays of `country` (ISO 3166 code) over every year it covers."""
    try:
        entity = holidays_library.country_holidays(country)
    except NotImplementedError:
        raise UnknownCountry(f"the holidays library has no calendar for {country!r}") from None
    first, last = covered_years(country, entity)
    days = holidays_library.country_holidays(country, years=range(first, last + 1))
    in_range = {d for d in days if first <= d.year <= last}
    makeup = frozenset(d for d in days.weekend_workdays if first <= d.year <= last)
    breaks = frozenset(in_range | _weekends_inside_breaks(in_range, makeup, first, last))
    return PublicHolidays(country, (first, last), breaks, makeup)


def covered_years(country: str, entity: Any) -> tuple[int, int]:
    """The years of official data: for countries whose holidays are announced yearly (China), the years the
    library records an announcement for; otherwise the years the library supports."""
    announced = sorted(getattr(entity, "special_public_holidays", {})) if country in _ANNOUNCED_YEARLY else []
    if announced:
        return announced[0], announced[-1]
    return int(entity.start_year), int(entity.end_year)


def _weekends_inside_breaks(days_off: set[date], makeup: frozenset[date], first: int, last: int) -> set[date]:
    """Weekend days joined to a holiday by other days off (a break such as National Day week, or a Friday
    holiday's weekend): rest days also for a calendar that opens at weekends. The library lists only the
    statutory days."""
    found: set[date] = set()
    for holiday in sorted(days_off):
        for step in (_DAY, -_DAY):
            day = holiday + step
            while day.weekday() >= 5 and day not in makeup and first <= day.year <= last:
                found.add(day)
                day += step
    return found - days_off
