"""The verification stage (qa.verify) in the pipeline, with fakes: a scripted model that also scores labels
(``tests.fakes.JudgingGenerator``) over the sample article, hash embedder, in-memory store."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qa.cite import Resolved, make_citation
from qa.compose import latest
from qa.records import Citation, answer_json
from qa.judge import Judge
from qa.verify import Verifier, claim_text, dateline, renumber, split_claims
from tests.fakes import JudgingGenerator
from tests.test_answer import ALLY, assert_quotes_verbatim, draft, evidence_number, indexed  # noqa: F401 - fixture
from index.pipeline import Indexer
from qa.service import open_assistant

WHO = "Who is Sergei Ryabkov?"


def judged(ix: Indexer, outputs: list[str], rule, **settings: object):  # noqa: ANN001, ANN201
    """The app as ``qa.service`` wires it around a judging fake; the judge decides by the raw argmax (no fitted
    calibration), so the fake's favoured label is the decision."""
    gen = JudgingGenerator(outputs, rule)
    s = ix.settings.model_copy(update=settings)
    a = open_assistant(s, store=ix.store, embedder=ix.embedder, bm25=ix.refresh_bm25(), generator=gen)
    assert (a.verifier is not None) == (s.judge != "off")  # on by default, whatever the generator
    if a.verifier is not None:
        a.verifier = Verifier(Judge(gen))
    return a, gen


def test_a_claim_its_quote_does_not_support_is_cut_and_listed(indexed: Indexer) -> None:
    probe, _ = judged(indexed, [], lambda q, c: "supports")
    n_role = evidence_number(probe, WHO, "Deputy Foreign Minister Sergei Ryabkov")
    n_other = evidence_number(probe, WHO, "Dzhagaryan")
    text = f"Ryabkov is Russia's Deputy Foreign Minister [S{n_role}]. He is the ambassador to Tehran [S{n_other}]."
    rule = lambda quote, claim: "supports" if "Deputy Foreign Minister" in quote else "unrelated"  # noqa: E731
    a, gen = judged(indexed, [draft(text)], rule)
    answer = a.ask(WHO)
    assert not answer.refused
    assert answer.unsupported == ("He is the ambassador to Tehran.",)
    assert "ambassador" not in answer.text and "[2]" not in answer.text.split("Closest passage")[0]
    first = answer.citations[0]
    assert first.n == 1 and first.support is not None and first.support.label == "supports" and 0.9 < first.support.p <= 1
    assert first.support.claim == "Ryabkov is Russia's Deputy Foreign Minister."
    assert {claim for claim, _ in gen.judged} >= {"Ryabkov is Russia's Deputy Foreign Minister.", "He is the ambassador to Tehran."}
    assert all(c.support is not None for c in answer.citations)  # the closest passage, if shown, is judged too
    data = answer_json(answer)
    assert data["unsupported"] == ["He is the ambassador to Tehran."]
    assert data["citations"][0]["support"] == {"label": "supports", "p": first.support.p, "side": None, "claim": first.support.claim}
    assert_quotes_verbatim(indexed, answer)


def test_a_claim_cited_to_the_wrong_sentence_is_cited_to_the_one_that_states_it(indexed: Indexer) -> None:
    probe, _ = judged(indexed, [], lambda q, c: "supports")
    n_wrong = evidence_number(probe, WHO, "Dzhagaryan")
    rule = lambda quote, claim: "supports" if "Deputy Foreign Minister" in quote else "unrelated"  # noqa: E731
    a, _ = judged(indexed, [draft(f"Ryabkov is Russia's Deputy Foreign Minister [S{n_wrong}].")], rule)
    answer = a.ask(WHO)
    assert not answer.refused and answer.unsupported == ()
    first = answer.citations[0]
    assert "Deputy Foreign Minister" in first.quote and "Dzhagaryan" not in first.quote
    assert first.support is not None and first.support.label == "supports" and first.support.claim == "Ryabkov is Russia's Deputy Foreign Minister."
    assert answer.text.startswith("Ryabkov is Russia's Deputy Foreign Minister [1].")
    assert_quotes_verbatim(indexed, answer)


def test_a_number_from_the_articles_date_line_is_not_vetoed(indexed: Indexer) -> None:
    a, _ = judged(indexed, [], lambda q, c: "supports")
    quote = a.retriever.retrieve(WHO).evidence[0]
    cite = replace(make_citation(1, quote), published="2025-04-15")
    day = dateline(cite.published)
    claim = f"It was published on {day.rsplit(' ', 1)[0]}."
    resolved = Resolved(claim[:-1] + " [1].", (cite,), ())
    checked = a.verifier.check("When was it published?", resolved, [quote])  # type: ignore[union-attr]
    assert checked.unsupported == () and checked.resolved.citations[0].support.label == "supports"  # type: ignore[union-attr]
    moved = Resolved("It was published on 1 January 1999 [1].", (cite,), ())
    assert a.verifier.check("When was it published?", moved, [quote]).unsupported == ("It was published on 1 January 1999.",)  # type: ignore[union-attr]


def test_an_answer_left_with_no_supported_claim_is_a_refusal_with_related_passages(indexed: Indexer) -> None:
    probe, _ = judged(indexed, [], lambda q, c: "supports")
    n = evidence_number(probe, WHO, "Dzhagaryan")
    a, _ = judged(indexed, [draft(f"He is the ambassador to Tehran [S{n}].")], lambda quote, claim: "unrelated")
    answer = a.ask(WHO)
    assert answer.refused and answer.verdict == "not_found" and answer.citations == ()
    assert answer.related and answer.unsupported == ("He is the ambassador to Tehran.",)
    assert "support judge" in answer.text


def test_a_cut_claims_quote_is_not_shown_as_the_answer_on_its_own(indexed: Indexer) -> None:
    probe, _ = judged(indexed, [], lambda q, c: "supports")
    n = evidence_number(probe, WHO, "Deputy Foreign Minister Sergei Ryabkov")
    # the model's sentence misstates the quote; whatever the quote would say alone, the answer is a refusal
    rule = lambda quote, claim: "supports" if claim in ("", "(see the question)") else "contradicts"  # noqa: E731
    a, gen = judged(indexed, [draft(f"Ryabkov is Iran's foreign minister [S{n}].")], rule)
    answer = a.ask(WHO)
    assert answer.refused and answer.unsupported == ("Ryabkov is Iran's foreign minister.",)
    assert any("Deputy Foreign Minister Sergei Ryabkov" in c.quote for c in answer.related)
    assert {claim for claim, _ in gen.judged} == {"Ryabkov is Iran's foreign minister."}


def test_yes_no_sides_come_from_the_judge_not_from_negation_words(indexed: Indexer) -> None:
    probe, _ = judged(indexed, [], lambda q, c: "yes")
    n_no = evidence_number(probe, ALLY, "not allies in Syria")
    # The judge reads the rules' "no" sentence as "neither", and Dzhagaryan's as "yes".
    rule = lambda quote, claim: "yes" if "Dzhagaryan" in quote or "myth" in quote else "neither"  # noqa: E731
    a, gen = judged(indexed, [draft(f"Ryabkov said they are not allies [S{n_no}].", verdict="no")], rule)
    answer = a.ask(ALLY)
    by_quote = {c.quote: c for c in answer.citations}
    ryabkov = next(c for q, c in by_quote.items() if "not allies in Syria" in q)
    assert ryabkov.stance == "neutral" and ryabkov.support is not None and ryabkov.support.side == "neither"
    assert any(c.stance == "yes" and c.support and c.support.side == "yes" for c in answer.citations)  # the opposite view, judged
    assert answer.verdict == "supported" and answer.text.startswith("Yes, according to the briefings.")
    assert all(claim == "" for claim, _ in gen.judged)  # task B: the question against the quote


def test_an_opposite_view_the_judge_rejects_is_not_shown(indexed: Indexer) -> None:
    probe, _ = judged(indexed, [], lambda q, c: "no")
    n_no = evidence_number(probe, ALLY, "not allies in Syria")
    a, gen = judged(indexed, [draft(f"Not allies [S{n_no}].", verdict="no")], lambda quote, claim: "no" if "not allies" in quote else "neither")
    answer = a.ask(ALLY)
    assert {c.stance for c in answer.citations} <= {"no", "neutral"} and answer.verdict == "contradicted"
    assert len(gen.judged) >= 2  # the cited quote, then at least one candidate for the other side


def test_with_the_judge_off_nothing_is_judged(indexed: Indexer) -> None:
    probe, _ = judged(indexed, [], lambda q, c: "supports")
    n = evidence_number(probe, WHO, "Dzhagaryan")
    a, gen = judged(indexed, [draft(f"He is the ambassador to Tehran [S{n}].")], lambda quote, claim: "unrelated", judge="off")
    answer = a.ask(WHO)
    assert not answer.refused and gen.judged == [] and all(c.support is None for c in answer.citations)


def test_claims_split_on_sentence_ends_not_on_decimal_points() -> None:
    text = "It will cost £48.5 million [1]. It opens in June [2][3]! Done."
    assert split_claims(text) == ["It will cost £48.5 million [1]. ", "It opens in June [2][3]! ", "Done."]
    assert "".join(split_claims(text)) == text and claim_text(split_claims(text)[1]) == "It opens in June!"


def _cite(n: int, published: str | None, stance: str) -> Citation:
    return Citation(n, f"a{n}", "t", "S", published, None, 0, 1, "q", None, True, stance=stance)  # type: ignore[arg-type]


def test_renumber_keeps_only_cited_quotes_in_order_of_appearance() -> None:
    cites = (_cite(1, None, "neutral"), _cite(2, None, "neutral"), _cite(3, None, "neutral"))
    r = renumber("B [3]. A [1].", cites, {}, ["note"])
    assert r.text == "B [1]. A [2]." and [c.article_id for c in r.citations] == ["a3", "a1"] and r.notes == ("note",)
    assert isinstance(r, Resolved)


@pytest.mark.parametrize(("dates", "expected"), [
    (("2026-03-03", "2026-03-04", "2026-04-15"), "The latest briefing (2026-04-15) says no [3]; it replaces the statements of 2026-03-03, 2026-03-04 [1][2]."),
    (("2026-04-15", "2026-03-03", "2026-03-04"), "The latest briefing (2026-04-15) says yes [1]; it replaces the statements of 2026-03-03, 2026-03-04 [2][3]."),
    ((None, None, "2026-04-15"), ""),  # only one side is dated
])
def test_latest_names_the_most_recent_side_and_what_it_replaces(dates: tuple, expected: str) -> None:
    cites = [_cite(1, dates[0], "yes"), _cite(2, dates[1], "yes" if dates[0] != "2026-04-15" else "no"), _cite(3, dates[2], "no")]
    assert latest(cites) == expected


def test_only_judged_sides_lead_with_the_latest_statement() -> None:
    from qa.compose import side_by_side
    cites = [_cite(1, "2026-03-03", "yes"), _cite(2, "2026-04-15", "no")]
    q = "Will the barrier open in June?"
    assert side_by_side(q, cites, with_latest=True).startswith("The briefings disagree. The latest briefing (2026-04-15) says no [2]")
    assert "latest" not in side_by_side(q, cites)  # the word rules' stances are not trusted with it


def test_a_claim_stating_a_number_its_quote_never_states_is_cut_whatever_the_model_says(indexed: Indexer) -> None:
    probe, _ = judged(indexed, [], lambda q, c: "supports")
    n = evidence_number(probe, WHO, "Deputy Foreign Minister Sergei Ryabkov")
    # The model favours "supports"; the number veto decides (85 is in the evidence, as "85 kilometers", not in this quote).
    a, _ = judged(indexed, [draft(f"Ryabkov has been Deputy Foreign Minister for 85 days [S{n}].")], lambda quote, claim: "supports")
    answer = a.ask(WHO)
    assert answer.unsupported == ("Ryabkov has been Deputy Foreign Minister for 85 days.",)
    assert answer.refused and "85 days" not in answer.text


def test_a_claim_citing_two_quotes_may_take_one_number_from_each(indexed: Indexer) -> None:
    """ "January 25 [1] or 19 January [2]": the number veto reads a claim's quotes together, so a claim that sets
    two statements side by side is not cut because neither quote alone states both numbers."""
    probe, _ = judged(indexed, [], lambda q, c: "supports")
    question = "When were the interviews about the Iran-Russia alliance given?"
    n_cnn = evidence_number(probe, question, "January 25")
    n_iran = evidence_number(probe, question, "19 January")
    text = f"The sources disagree: on January 25 [S{n_cnn}] or on 19 January [S{n_iran}]."
    a, _ = judged(indexed, [draft(text)], lambda quote, claim: "supports")
    answer = a.ask(question)
    assert answer.unsupported == () and not answer.refused
    assert "January 25" in answer.text and "19 January" in answer.text
    assert_quotes_verbatim(indexed, answer)


def test_a_claim_naming_someone_the_article_never_names_is_cut_whatever_the_model_says(indexed: Indexer) -> None:
    probe, _ = judged(indexed, [], lambda q, c: "supports")
    n = evidence_number(probe, WHO, "Deputy Foreign Minister Sergei Ryabkov")
    text = f"Ryabkov is Russia's Deputy Foreign Minister [S{n}]. He reports to John Doe [S{n}]."
    a, _ = judged(indexed, [draft(text)], lambda quote, claim: "supports")
    answer = a.ask(WHO)
    assert answer.unsupported == ("He reports to John Doe.",)
    assert "John Doe" not in answer.text and answer.text.startswith("Ryabkov is Russia's Deputy Foreign Minister [1].")


def test_an_answer_the_model_was_unsure_of_stands_only_on_a_quote_the_judge_says_states_it(indexed: Indexer) -> None:
    probe, _ = judged(indexed, [], lambda q, c: "yes")
    n = evidence_number(probe, ALLY, "not allies in Syria")
    text = f"Ryabkov said they are not allies [S{n}]."
    neither = lambda quote, claim: "neither"  # noqa: E731 - no quote takes a side
    for p, rule, refused in [(0.55, neither, True), (0.55, lambda q, c: "no", False), (0.97, neither, False)]:
        a, gen = judged(indexed, [draft(text, verdict="no")], rule)
        gen.p_answerable = p
        answer = a.ask(ALLY)
        assert answer.p_answerable == pytest.approx(p) and answer.refused is refused, (p, answer.text)
        assert answer_json(answer)["p_answerable"] == pytest.approx(p, abs=1e-4)
        assert ("unsure" in answer.text) is refused


def test_a_quote_added_beside_the_answer_is_judged_against_the_answer_it_stands_beside(indexed: Indexer) -> None:
    probe, gen = judged(indexed, [], lambda quote, claim: "supports" if claim.startswith("Ryabkov") else "contradicts")
    ev = probe.retriever.retrieve(WHO).evidence[0]
    added = make_citation(2, ev)
    assert probe.verifier is not None and added.support is None
    (judged_one,) = probe.verifier.attach(WHO, [added], "Ryabkov is Russia's Deputy Foreign Minister [1].")
    assert gen.judged[-1] == ("Ryabkov is Russia's Deputy Foreign Minister.", ev.text)
    assert judged_one.support is not None and judged_one.support.label == "supports"
    assert judged_one.support.claim == "Ryabkov is Russia's Deputy Foreign Minister."
