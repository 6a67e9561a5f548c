"""Published dates: parsing metadata values and datelines, and ``index.clean`` storing them as ISO."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from index.clean import clean
from index.dates import dateline_date, parse_date
from index.load import iter_documents
from index.records import Article, RawDoc


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-24", "2026-11-24"),
        ("2026-11-24T10:00Z", "2026-11-24"),
        ("2026-11-24T10:00:00+01:00", "2026-11-24"),
        ("2026/11/24", "2026-11-24"),
        ("24 November 2026", "2026-11-24"),
        ("Monday, 24th of November 2026", "2026-11-24"),
        ("Nov 24, 2026", "2026-11-24"),
        ("Nov. 24, 2026", "2026-11-24"),
        ("November 24 2026", "2026-11-24"),
        ("Sept. 3, 2025", "2025-09-03"),
        ("24-Nov-2026", "2026-11-24"),
        ("Tue, 24 Nov 2026 10:00:00 GMT", "2026-11-24"),
        ("Published: 24 November 2026 at 10:15 GMT", "2026-11-24"),
        ("24/11/2026", "2026-11-24"),  # day first: 24 cannot be a month
        ("11/24/2026", "2026-11-24"),  # month first: 24 cannot be a month
        ("24.11.2026", "2026-11-24"),
        ("04/04/2025", "2025-04-04"),
    ],
)
def test_common_formats_parse_to_iso(value: str, expected: str) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    "value",
    ["03/04/2025", "5/1/24", "24 November", "Nov. 24", "31/02/2026", "2026-13-01", "30 February 2026", "1 May 1066", "", "soon", None],
)
def test_ambiguous_incomplete_or_impossible_dates_are_none(value: str | None) -> None:
    assert parse_date(value) is None


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_every_written_form_of_a_date_round_trips(d: date) -> None:
    iso = d.isoformat()
    for form in (iso, d.strftime("%d %B %Y"), d.strftime("%B %d, %Y"), d.strftime("%a, %d %b %Y 09:30:00 GMT")):
        assert parse_date(form) == iso, form
    numeric = parse_date(d.strftime("%d/%m/%Y"))
    assert numeric == (iso if d.day > 12 or d.day == d.month else None)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["Published 24 November 2026"], "2026-11-24"),
        (["Published: Monday 24 November 2026, 10:15 GMT"], "2026-11-24"),
        (["Posted on Nov. 24, 2026"], "2026-11-24"),
        (["24 November 2026", "Body."], "2026-11-24"),
        (["LONDON, 3 March 2025 - Ministers said on Monday ..."], "2025-03-03"),
        (["MOSCOW, Nov. 24, 2026 (Reuters) - The Kremlin said ..."], "2026-11-24"),
        (["New York, NY, March 3, 2025 (AP) — Officials said ..."], "2025-03-03"),
        (["Updated 5 March 2025", "Published 1 March 2025"], "2025-03-01"),  # published wins over updated
        (["Last updated on 5 March 2025", "Body."], "2025-03-05"),  # updated when that is all there is
    ],
)
def test_datelines_in_the_opening_lines(lines: list[str], expected: str) -> None:
    assert dateline_date(lines) == expected


@pytest.mark.parametrize(
    "lines",
    [
        ["Iranian Foreign Minister met Ryabkov in Tehran, January 12, 2015"],  # a caption's date
        ["The meeting took place on 24 November 2026."],  # a date inside prose
        ["Days after the attacks, 24 November 2026 - officials said"],  # not a place name
        ["MOSCOW, Nov. 24 (Reuters) - The Kremlin said ..."],  # no year
        ["One.", "Two.", "Three.", "Four.", "Five.", "Six.", "Published 24 November 2026"],  # too far down
    ],
)
def test_no_dateline(lines: list[str]) -> None:
    assert dateline_date(lines) is None


def cleaned(text: str, **fields: object) -> Article:
    result = clean(RawDoc(path="news/story.txt", text=text, **fields))  # type: ignore[arg-type]
    assert isinstance(result, Article), result
    return result


def test_clean_stores_metadata_dates_as_iso() -> None:
    assert cleaned("Storm Hits Coast\n\nThe storm hit.", published="Nov 24, 2026").published == "2026-11-24"
    assert cleaned("Storm Hits Coast\n\nThe storm hit.", published="5/1/24").published is None
    assert cleaned("Storm Hits Coast\n\nThe storm hit.").published is None


def test_metadata_date_wins_over_the_dateline() -> None:
    a = cleaned("Storm Hits Coast\n\nPublished 1 March 2025\n\nThe storm hit.", published="2025-03-02")
    assert a.published == "2025-03-02"


def test_a_dateline_dates_the_article_and_stays_quotable_body_text() -> None:
    a = cleaned("Storm Hits Coast\n\nPublished 1 March 2025\n\nThe storm hit at dawn.")
    assert a.published == "2025-03-01"
    assert a.captions == () and a.text == "Published 1 March 2025\n\nThe storm hit at dawn."


def test_front_matter_date_of_a_txt_file_is_iso(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "story.txt"
    path.write_text("Title: Storm\nSource: Wire\nDate: 25 Jan 2019\n\nThe storm hit.", encoding="utf-8")
    (doc,) = iter_documents([path])
    assert isinstance(doc, RawDoc)
    assert cleaned(doc.text, published=doc.published).published == "2019-01-25"


def test_parsing_stays_fast_on_long_values() -> None:
    long = "x" * 50_000 + " 24 November 2026"
    assert parse_date(long) == "2026-11-24"
    assert dateline_date(["A" * 5_000 + ", " + "1" * 5_000]) is None


def test_one_day_apart_dates_sort_as_strings() -> None:
    day = date(2025, 12, 31)
    assert parse_date(day.strftime("%d %B %Y")) < parse_date((day + timedelta(days=1)).strftime("%d %B %Y"))  # type: ignore[operator]


def test_quote_cards_and_the_viewer_show_the_published_date() -> None:
    from qa.records import Citation
    from ui.render import article_html, card_html

    a = Article.create(title="Barrier", text="It will open in June.", source="Harbour Times", published="2025-03-03")
    c = Citation(n=1, article_id=a.id, title=a.title, source=a.source, published=a.published, path=None, start=0, end=20,
                 quote="It will open in June", speaker=None, verified=True)
    card = card_html(c, 0, "cite")
    assert 'Barrier · Harbour Times · <time class="qa-date" datetime="2025-03-03">3 Mar 2025</time>' in card
    assert '<span class="qa-date">undated</span>' in card_html(replace(c, published=None), 0, "cite")
    assert "Harbour Times · <time class=\"qa-date\" datetime=\"2025-03-03\">3 Mar 2025</time> · chars 0–20" in article_html(a, 0, 20)
