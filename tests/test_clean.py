"""Tests for index.clean: titles, furniture, captions, paragraphs, and the verbatim-text property."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from index.clean import clean
from index.records import Article, FileResult, RawDoc

SAMPLE = Path(__file__).parents[1] / "briefings" / "russia-iran-not-allies-in-syria.txt"


def article(text: str, path: str = "news/some-story.txt", **fields: Any) -> Article:
    result = clean(RawDoc(path=path, text=text, **fields))
    assert isinstance(result, Article), result
    return result


def collapse(text: str) -> str:
    return " ".join(text.split())


def test_sample_title_caption_and_body() -> None:
    a = article(SAMPLE.read_text(encoding="utf-8"), path=str(SAMPLE))
    assert a.title == "Russia, Iran Not Allies in Syria, Says Senior Russian Diplomat"
    assert a.captions == (
        "Iranian Foreign Minister Mohammad Javad Zarif (R) meets with Russian deputy foreign minister "
        "Sergei Ryabkov in Tehran, January 12, 2015",
    )
    assert a.text.startswith("Days after sustained Israeli attacks")
    assert "Accessibility links" not in a.text and "Breaking News" not in a.text
    assert "the ambassador’s remarks" in a.text  # curly apostrophe kept verbatim
    assert a.path == str(SAMPLE)


def test_furniture_lines_dropped_but_similar_prose_kept() -> None:
    text = (
        "Skip to main content\nMenu\nSearch\nSign in\n\nStorm Hits Coast\n\nAdvertisement\n\n"
        "The storm hit at dawn.\n\nShare this article:\nRead more\nImage source, Getty Images\n"
        "Copyright 2024 Example News\n© Example Ltd\n\nSearch continues for two missing fishermen.\n\n"
        "Related\nMost read\nTop stories\nAll rights reserved."
    )
    a = article(text)
    assert a.title == "Storm Hits Coast"
    assert a.text == "The storm hit at dawn.\n\nSearch continues for two missing fishermen."


def test_copyright_headline_is_not_furniture() -> None:
    a = article("Copyright row erupts over song\n\nA court heard the case.")
    assert a.title == "Copyright row erupts over song"


def test_image_caption_lines_move_to_captions() -> None:
    a = article("Budget\n\nThe chancellor spoke.\n\nImage caption, The chancellor at No 11\n\nMore to come.")
    assert a.captions == ("The chancellor at No 11",)
    assert a.text == "The chancellor spoke.\n\nMore to come."


def test_date_ending_caption_after_title() -> None:
    a = article("Talks Resume\n\nDelegates arrive in Vienna, 3 March 2021\n\nTalks resumed on Monday.")
    assert a.captions == ("Delegates arrive in Vienna, 3 March 2021",)
    assert a.text == "Talks resumed on Monday."


def test_caption_markers_only_right_after_title() -> None:
    a = article("Summit Ends\nLeaders pose for a group File photo\nLeaders met.\nSmith (R) pictured")
    assert a.captions == ("Leaders pose for a group File photo",)
    assert a.text.endswith("Smith (R) pictured")


def test_hard_wrapped_prose_is_joined_short_lines_are_not() -> None:
    text = (
        "Headline\n\n"
        "This paragraph was wrapped at a fixed width by the\n"
        "tool that exported it, so its lines must be joined\n"
        "again.\n"
        "A second paragraph starts on the next line here.\n\n"
        "Short line one\nShort line two\n"
    )
    a = article(text)
    assert a.text.split("\n\n") == [
        "This paragraph was wrapped at a fixed width by the tool that exported it, so its lines must be "
        "joined again.",
        "A second paragraph starts on the next line here.",
        "Short line one",
        "Short line two",
    ]


def test_whitespace_collapsed_and_edges_trimmed() -> None:
    a = article("\n\n  Title   Here \t\n\n\t He  said\t“no”.  \n\n\n\nThen   left.  \n\n")
    assert a.title == "Title Here"
    assert a.text == "He said “no”.\n\nThen left."


def test_given_title_kept_and_repeat_in_body_dropped() -> None:
    a = article("Given Title\n\nBody line.", title="Given  Title")
    assert (a.title, a.text) == ("Given Title", "Body line.")


def test_structured_doc_keeps_lines_as_paragraphs_and_drops_furniture() -> None:
    text = (
        "Bridge Vote Passes\nAdvertisement\n"
        "A long line of structured text that does not end in punctuation\nThe next paragraph."
    )
    a = article(text, title="Bridge Vote Passes", structured=True, source="Example", url="https://x.test/a")
    assert a.title == "Bridge Vote Passes"
    assert a.text == "A long line of structured text that does not end in punctuation\n\nThe next paragraph."
    assert (a.source, a.url) == ("Example", "https://x.test/a")


def test_structured_doc_without_title_uses_path_not_first_line() -> None:
    a = article("Short opening line\nBody.", path="feeds/world-news.jsonl#3", structured=True)
    assert a.title == "World news #3"
    assert a.text == "Short opening line\n\nBody."


def test_fallback_title_from_file_name() -> None:
    a = article("This starts with a sentence.\n\nAnd goes on.", path="/data/big_storm-hits.txt")
    assert a.title == "Big storm hits"
    assert a.text == "This starts with a sentence.\n\nAnd goes on."


def test_headline_with_ellipsis_is_a_title() -> None:
    assert article("'My memories of Marley...'\n\nBody.").title == "'My memories of Marley...'"


def test_metadata_passed_through() -> None:
    a = article("T\n\nBody.", source="Wire", url="u", published="2024-01-02", path="p.txt")
    assert (a.source, a.url, a.published, a.path) == ("Wire", "u", "2024-01-02", "p.txt")
    assert a.sha256.startswith(a.id)


def test_nothing_left_is_rejected() -> None:
    result = clean(RawDoc(path="x.txt", text="Breaking News\n\nOnly A Headline\n\nSubscribe"))
    assert result == FileResult("x.txt", "rejected", "no article text after cleaning")


LINES = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80),
    st.sampled_from(["", " ", "Breaking News", "Share", "Photo: x", "A (R) b, May 1, 2020", "x" * 60]),
)


@given(st.lists(LINES, max_size=12), st.booleans())
def test_output_is_trimmed_and_every_paragraph_is_verbatim_input(lines: list[str], structured: bool) -> None:
    source = "\n".join(lines)
    result = clean(RawDoc(path="p.txt", text=source, structured=structured))
    if isinstance(result, FileResult):
        assert result.status == "rejected"
        return
    assert result.text == result.text.strip()
    assert result.title == result.title.strip() and result.title
    flat = collapse(source)
    for paragraph in result.text.split("\n\n"):
        assert paragraph and "\n" not in paragraph
        assert paragraph in flat
        assert not re.search(r"\s{2}", paragraph)
