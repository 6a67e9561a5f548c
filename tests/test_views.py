"""``qa.views``: sides, timeline, checked claims, examples and status — and their HTML in ``ui.render``."""

from __future__ import annotations

from dataclasses import replace
from html.parser import HTMLParser

from index.records import Article
from index.store import StoredArticle
from qa.records import Answer, Citation, Reading, Support, Timings
from qa.views import IndexStatus, claims, columns, example_questions, index_status, side_of, timeline
from ui.render import answer_html, card_html, reading_html, status_html, timeline_html


def cite(n: int, stance: str = "neutral", published: str | None = "2025-03-03", article_id: str | None = None,
         support: Support | None = None, quote: str = "A quote.") -> Citation:
    return Citation(n, article_id or f"a{n}", f"Title {n}", f"Outlet {n}", published, None, 0, len(quote), quote,
                    f"Speaker {n}", True, stance=stance, support=support)  # type: ignore[arg-type]


def answer(citations: tuple[Citation, ...], text: str = "It opens [1]. It does not [2].", **kw: object) -> Answer:
    return Answer(**{**dict(question="Will it open?", text=text, citations=citations, verdict="mixed", refused=False,
                            timings=Timings(0, 0, 0)), **kw})  # type: ignore[arg-type]


class _Texts(HTMLParser):
    """The text of every element with a given class, in order (entities decoded)."""

    def __init__(self, cls: str) -> None:
        super().__init__(convert_charrefs=True)
        self.cls, self.depth, self.found = cls, 0, []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            self.depth += 1
        elif self.cls in (dict(attrs).get("class") or "").split():
            self.depth, self.found = 1, [*self.found, ""]

    def handle_endtag(self, tag: str) -> None:
        self.depth = max(self.depth - 1, 0)

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.found[-1] += data


def texts(html: str, cls: str) -> list[str]:
    p = _Texts(cls)
    p.feed(html)
    return p.found


def test_the_judges_side_wins_over_the_quotes_own_stance_and_neither_gets_a_column() -> None:
    judged_no = cite(1, "yes", support=Support("contradicts", 0.9, "no", 0.9))
    cols = columns(answer((judged_no, cite(2, "yes"), cite(3, support=Support("unrelated", 0.8, "neither", 0.8)))))
    assert [(c.label, [x.n for x in c.citations]) for c in cols] == [("Yes", [2]), ("No", [1]), ("Neither", [3])]
    assert side_of(cite(4, "no", support=Support("supports", 0.7))) == "no"  # a judge without a side: the stance


def test_no_columns_when_no_quote_takes_a_side() -> None:
    assert columns(answer((cite(1), cite(2)))) == ()
    one_side = columns(answer((cite(1, "no"),)))
    assert [(c.side, len(c.citations)) for c in one_side] == [("yes", 0), ("no", 1)]  # the empty side is shown as empty
    assert "No quote on this side." in answer_html(answer((cite(1, "no"),)), 0)


def test_timeline_one_point_per_dated_article_oldest_first_latest_marked() -> None:
    cites = (cite(1, published="2025-04-15"), cite(2, published="2025-03-03"), cite(3, published="2025-04-15", article_id="a1"),
             cite(4, published=None), cite(5, published="spring 2019"), cite(6, published="2025-03-04"))
    points = timeline(answer(cites))
    assert [(p.day.isoformat(), p.n, p.latest) for p in points] == [("2025-03-03", 2, False), ("2025-03-04", 6, False),
                                                                     ("2025-04-15", 1, True)]
    html = timeline_html(answer(cites), 4)
    assert texts(html, "qa-latest") == ["latest"] and 'href="#qa-card-4-1"' in html and "qa-jump-4-2" in html
    assert timeline(answer((cite(1), cite(2, article_id="a1")))) == ()  # one article: no timeline
    assert timeline_html(answer((cite(1),)), 0) == ""


def test_each_sentence_gets_the_check_of_its_quotes() -> None:
    cites = (cite(1, support=Support("supports", 0.9)), cite(2, support=Support("contradicts", 0.8)), cite(3),
             cite(4, support=Support("unrelated", 0.7)))
    text = "It opens [1][2]. It does not [2]. Maybe [3]. Perhaps [4]. Nobody knows."
    assert [(c.numbers, c.check) for c in claims(answer(cites, text))] == [
        ((1, 2), "supported"), ((2,), "contradicted"), ((3,), "unchecked"), ((4,), "unsupported"), ((), "uncited")]


def test_a_side_sentence_is_checked_against_the_side_of_its_quotes_not_read_as_a_refutation() -> None:
    # "No: Sergei Ryabkov [2]." claims that quote 2 says no; the judge's "no" side on it is support, not "says otherwise"
    cites = (cite(1, "yes", support=Support("supports", 0.9, "yes", 0.9)), cite(2, "no", support=Support("contradicts", 0.8, "no", 0.8)),
             cite(3, "yes", support=Support("supports", 0.7, "yes", 0.7)), cite(4, support=Support("unrelated", 0.6, "neither", 0.6)))
    text = "The briefings disagree. Yes: Speaker 1 [1]. No: Speaker 2 [2]. No: Speaker 3 [3]. Yes: Speaker 4 [4]. See also: Outlet 4 [4]."
    assert [c.check for c in claims(answer(cites, text))] == [
        "uncited", "supported", "supported", "contradicted", "unsupported", "supported"]
    html = answer_html(answer(cites[:2], "The briefings disagree. Yes: Speaker 1 [1]. No: Speaker 2 [2]."), 0)
    assert texts(html, "qa-check") == ["✓ supported by its quote", "✓ supported by its quote"]


def test_checked_sentences_and_cut_claims_are_shown_once_judged() -> None:
    cites = (cite(1, "yes", support=Support("supports", 0.93, "yes", 0.93, claim="It opens.")), cite(2, "no"))
    html = answer_html(answer(cites, unsupported=("It opens <soon>.",)), 0)
    assert texts(html, "qa-check") == ["✓ supported by its quote", "not checked"]
    assert "<summary>Not supported by the briefings (1)</summary>" in html and "It opens &lt;soon&gt;." in html
    assert texts(card_html(cites[0], 0, "cite"), "qa-checked") == ["✓ checked"]
    unjudged = answer_html(answer((cite(1, "yes"), cite(2, "no"))), 0)
    assert "qa-check" not in unjudged and "Not supported" not in unjudged  # no judge ran: the plain text


def test_cards_are_buttons_whose_label_says_who_where_when() -> None:
    c = replace(cite(1, "yes", quote='He said "<b>yes</b>".'), speaker="Levan <Dzhagaryan>", role="ambassador")
    html = card_html(c, 2, "cite")
    assert html.startswith('<button type="button" class="qa-card qa-go qa-go-cite-2-1" id="qa-card-2-1"')
    label = texts(html, "qa-card")[0]
    assert label.startswith("1Levan <Dzhagaryan>, ambassadorsays yes") and 'He said "<b>yes</b>".' in label
    assert label.endswith("Title 1 · Outlet 1 · 3 Mar 2025") and "<b>" not in html


def test_reading_lists_the_briefings_with_a_live_status() -> None:
    articles = (Article.create(title="Barrier <late>", text="x", source="Herald", published="2025-04-15"),
                Article.create(title="Untitled", text="y"))
    html = reading_html(Reading("q", articles, 0.004), "It opens")
    assert texts(html, "qa-status") == ["Reading 2 briefings (found in 0.00 s) · writing the answer…"]
    assert texts(html, "qa-sources") == ["Barrier <late> · Herald · 15 Apr 2025Untitled · unknown outlet · undated"]
    assert texts(html, "qa-text") == ["It opens"]
    assert "Searching the briefings" in reading_html(None)
    final = answer_html(answer((cite(1, "yes"),)), 0, Reading("q", articles[:1], 0.0))
    assert "<summary>Read 1 briefing</summary>" in final


def test_examples_come_from_the_newest_titles_and_the_status_counts_them() -> None:
    entries = [StoredArticle(Article.create(title=t, text=t, published=p), (), 1)
               for t, p in (("Cost rises", "2025-04-15"), ("Cost rises", "2025-04-14"), ("Will open", None), ("Old", "2024-01-01"))]
    assert example_questions(entries, 2) == ("What do the briefings say about “Cost rises”?",
                                             "What do the briefings say about “Will open”?")
    status = index_status(entries, 1.7e9, "local:qwen", "all-MiniLM-L6-v2")
    assert status == IndexStatus(4, "2025-04-15", 1.7e9, "local:qwen", "all-MiniLM-L6-v2")
    line = texts(status_html(status), "qa-status-line")[0]
    assert line == "4 articles indexed · newest 15 Apr 2025 · index updated 2023-11-14 22:13 UTC · answers: local:qwen · embeddings: all-MiniLM-L6-v2"
    assert texts(status_html(IndexStatus(0, None, None, "extractive", "hash")), "qa-status-line") == [
        "0 articles indexed · answers: extractive · embeddings: hash"]
