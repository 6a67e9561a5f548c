"""Published dates as ISO ``YYYY-MM-DD``: from metadata values and from a dateline opening the body.

>>> [parse_date(v) for v in ("24 November 2026", "Nov. 24, 2026", "2026-11-24T10:00Z", "Tue, 24 Nov 2026 10:00:00 GMT")]
['2026-11-24', '2026-11-24', '2026-11-24', '2026-11-24']
>>> parse_date("24/11/2026"), parse_date("03/04/2025"), parse_date("04/04/2025"), parse_date("5/1/24")
('2026-11-24', None, '2025-04-04', None)
>>> dateline_date(["Flood barrier delayed", "Updated 3 March 2025", "The council said ..."])
'2025-03-03'
>>> dateline_date(["MOSCOW, Nov. 24, 2026 (Reuters) - The Kremlin said on Monday ..."])
'2026-11-24'

Accepted forms (weekday names, ordinals "24th", "of", commas, abbreviations with or without a dot,
times and time zones after the date are all allowed): ``2026-11-24`` (also with ``/`` or ``.``,
and ISO 8601 with a time), ``24 November 2026``, ``November 24, 2026``, and all-numeric
day/month/year ``24/11/2026`` (``/``, ``.`` or ``-``).

All-numeric dates are read only when they are unambiguous: one of the first two numbers is above 12
(``24/11/2026`` day first, ``11/24/2026`` month first) or both are equal. ``03/04/2025`` is 3 April
in Britain and 4 March in the US; no date is better than a wrong one on every quote, so it yields
None. Two-digit years and dates without a year (``Nov. 24``) also yield None: the year cannot be
known. Years outside 1900–2100 are rejected.

A dateline (``dateline_date``) is looked for in the first ``DATELINE_LINES`` non-empty lines of the
body: a line that is only a date (optionally labelled "Published", "Posted", "Date", "Updated", …,
optionally followed by a time), or a wire dateline opening a paragraph ("LONDON, 3 March 2025 -",
"MOSCOW, Nov. 24, 2026 (Reuters) —"). A "published"-style date wins over an "updated" one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

DATELINE_LINES = 6
_MIN_YEAR, _MAX_YEAR = 1900, 2100

_MONTHS = {
    name: i
    for i, names in enumerate(
        (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
         ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
         ("dec", "december")),
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<{}>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<{}>\d{{1,2}})(?:st|nd|rd|th)?"
_YEAR = r"(?P<{}>\d{{4}})(?!\d)"
_DATE = re.compile(
    "|".join(
        (
            rf"(?<!\d){_YEAR.format('iy')}[-/.](?P<im>\d{{1,2}})[-/.](?P<id>\d{{1,2}})(?!\d)",
            rf"(?<!\d){_DAY.format('ad')}(?:\s+of)?[\s-]+{_MONTH.format('am')},?[\s-]+{_YEAR.format('ay')}",
            rf"(?<![\w]){_MONTH.format('bm')}\s+{_DAY.format('bd')},?\s+{_YEAR.format('by')}",
            rf"(?<!\d)(?P<n1>\d{{1,2}})(?P<sep>[/.-])(?P<n2>\d{{1,2}})(?P=sep){_YEAR.format('ny')}",
        )
    ),
    re.I,
)
_WEEKDAY = r"(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|sday|nesday|urday)?\.?,?\s+)?"
_TIME = r"(?:[\s,]+(?:at\s+)?\d{1,2}(?:[:.]\d{2}){1,2}\s*(?:[ap]\.?m\.?)?(?:\s*(?:[A-Z]{2,5}|[+-]\d{2}:?\d{2}|Z))?)?"
_PUBLISHED_LABEL = r"(?:first\s+)?(?:published|posted|date|dated|filed)"
_UPDATED_LABEL = r"(?:last\s+)?(?:updated|modified)"
_LABELLED_LINE = re.compile(
    rf"(?:(?P<pub>{_PUBLISHED_LABEL})|(?P<upd>{_UPDATED_LABEL}))(?:\s+on)?\s*[:\-–—]?\s*{_WEEKDAY}(?P<date>.+?){_TIME}\.?",
    re.I,
)
_BARE_LINE = re.compile(rf"{_WEEKDAY}(?P<date>.+?){_TIME}\.?", re.I)
_PLACE = r"[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3}"  # capitalised words: "MOSCOW", "New York"
_WIRE = re.compile(rf"{_PLACE}(?:,\s*{_PLACE})?,\s+(?P<date>[^()\-–—]{{6,40}}?)\s*(?:\([^()\n]{{1,40}}\))?\s*[-–—]\s")


def parse_date(value: str | None) -> str | None:
    """The first date in ``value`` as ``YYYY-MM-DD``, or None when there is no unambiguous one."""
    if not value:
        return None
    for m in _DATE.finditer(value):
        found = _to_iso(m)
        if found:
            return found
    return None


def dateline_date(lines: Sequence[str]) -> str | None:
    """The published date a body states in its opening lines (see the module docstring), or None."""
    updated = None
    opening = [line.strip() for line in lines if line.strip()][:DATELINE_LINES]
    for line in opening:
        labelled = _LABELLED_LINE.fullmatch(line)
        if labelled:
            found = _whole_date(labelled.group("date"))
            if found and labelled.group("pub"):
                return found
            updated = updated or found
            continue
        bare = _BARE_LINE.fullmatch(line)
        wire = _WIRE.match(line)
        found = _whole_date(bare.group("date")) if bare else None
        found = found or (_whole_date(wire.group("date")) if wire else None)
        if found:
            return found
    return updated


def _whole_date(text: str) -> str | None:
    """The date when ``text`` is nothing but one date (surrounding commas/spaces allowed)."""
    m = _DATE.fullmatch(text.strip(" ,"))
    return _to_iso(m) if m else None


def _to_iso(m: re.Match[str]) -> str | None:
    g = m.groupdict()
    if g["iy"]:
        y, mo, d = int(g["iy"]), int(g["im"]), int(g["id"])
    elif g["ay"]:
        y, mo, d = int(g["ay"]), _MONTHS[g["am"].lower()], int(g["ad"])
    elif g["by"]:
        y, mo, d = int(g["by"]), _MONTHS[g["bm"].lower()], int(g["bd"])
    else:
        a, b, y = int(g["n1"]), int(g["n2"]), int(g["ny"])
        if a > 12 >= b or a == b:
            d, mo = a, b
        elif b > 12 >= a:
            mo, d = a, b
        else:
            return None  # 03/04/2025: day-first or month-first cannot be told
    if not _MIN_YEAR <= y <= _MAX_YEAR:
        return None
    try:
        return date(y, mo, d).isoformat()
    except ValueError:
        return None
