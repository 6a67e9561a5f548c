"""The analyst's page in a real headless Chromium (Debian's ``/usr/bin/chromium``, no browser download).

Most tests answer with ``CitingGenerator``, a scripted model that cites the evidence sentences holding given
phrases (so they take seconds, and the answer is known); the ``slow`` one asks the local model. Checked:
the briefings being read appear before the answer is complete (both moments recorded in the page); the
seed question's Yes column holds Dzhagaryan's quote and its No column Ryabkov's, and clicking a card
highlights exactly its quote; the Harwick barrier question's timeline has three dated points, 15 April
marked latest; keyboard only (Tab to a card, Enter opens it); a 390×844 phone screen; axe-core finds no
critical or serious violation on the Chat and Briefings tabs, light and dark; checked and cut claims; an
upload. Screenshots of each state go to the test's ``tmp_path`` and are copied to ``/tmp/page-shots/``.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import time
from dataclasses import replace
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from core.settings import Settings
from qa.generators.base import Message
from qa.records import Answer, Support
from qa.service import BriefingService
from ui.app import serve

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/page-shots")
ALLY = "Did Russia call Iran an ally?"
BARRIER = "Will the Harwick flood barrier open in June?"  # eval/news_dev.jsonl, news-barrier-june
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ALLY_DRAFT = ("Ambassador Levan Dzhagaryan called Iran an ally {the weakening of the Iran-Russia alliance is a myth}, "
              "but Sergei Ryabkov said they are not allies {Russia and Iran are not allies in Syria}.")
BARRIER_DRAFT = ("Council leader Maria Okafor said it will open in June {We will open the barrier in June}; the inspector said "
                 "it will not {There is no way this barrier opens in June}. It is now expected in September {now expected to open in September}.")
# Records in the page when the question is sent, when the sources list and when the finished answer first appear.
TIMES_JS = """() => {
  window.__t = {};
  const mark = (k) => { if (!(k in window.__t)) window.__t[k] = performance.now(); };
  document.addEventListener('keydown', (e) => { if (e.key === 'Enter' && e.target.closest('#question')) mark('enter'); }, true);
  new MutationObserver(() => {
    if (document.querySelector('#chat .qa-sources')) mark('sources');
    if (document.querySelector('#chat .qa-answer:not(.qa-streaming) .qa-badge')) mark('answer');
  }).observe(document.body, {childList: true, subtree: true});
}"""

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="install Debian's chromium (scripts/test.sh does it as root)")


class CitingGenerator:
    """A scripted model: ``draft`` with each ``{phrase}`` replaced by the id of the evidence sentence holding it
    (dropped when no sentence does), streamed as a JSON draft in small pieces, ``delay`` seconds apart."""

    name = "scripted:citing"

    def __init__(self, draft: str, delay: float = 0.05) -> None:
        self.draft, self.delay = draft, delay

    def stream(self, messages: Sequence[Message], *, json_schema: Mapping[str, object] | None = None,
               max_tokens: int = 256) -> Iterator[str]:
        lines = messages[-1].content.splitlines()

        def sentence_id(m: re.Match[str]) -> str:
            return next((line.split(" ", 1)[0] for line in lines if m.group(1) in line), "")

        reply = json.dumps({"answerable": True, "answer": re.sub(r"\{([^}]+)\}", sentence_id, self.draft), "verdict": "mixed"})
        for i in range(0, len(reply), 12):
            time.sleep(self.delay)
            yield reply[i : i + 12]


def start(tmp_path: Path, folder: Path, generator: object, **settings: Any) -> tuple[gr.Blocks, BriefingService]:
    """The page over ``folder``'s briefings (every sentence shown to the generator unless ``settings`` say otherwise)."""
    fields: dict[str, Any] = dict(data_dir=tmp_path / "data", embedder="hash", min_evidence_score=0.0, evidence_sentences=40,
                                  top_chunks=30)
    service = BriefingService(Settings(**{**fields, **settings}), generator=generator)
    service.add([folder])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return serve(service, "127.0.0.1", port, block=False), service


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Shots:
    """Full-page screenshots under ``tmp_path``, copied to ``/tmp/page-shots/`` for people to look at."""

    def __init__(self, tmp_path: Path, prefix: str) -> None:
        self.tmp_path, self.prefix = tmp_path, prefix

    def __call__(self, page: Any, name: str) -> None:
        path = self.tmp_path / f"{self.prefix}-{name}.png"
        page.screenshot(path=path, full_page=True)
        SHOTS.mkdir(exist_ok=True)
        shutil.copy(path, SHOTS / path.name)


def open_page(browser: Any, demo: gr.Blocks, width: int = 1400, height: int = 900, theme: str = "light") -> Any:
    page = browser.new_page(viewport={"width": width, "height": height}, color_scheme=theme)
    page.goto(f"{demo.local_url}?__theme={theme}", wait_until="load")
    page.locator("#question textarea").wait_for()
    return page


def ask(page: Any, question: str, while_answering: Callable[[], None] | None = None) -> dict[str, float]:
    """Type ``question``, press Enter, wait for the finished answer; the page's timestamps (ms) of each step.

    ``while_answering`` runs once the briefings being read are shown (e.g. a screenshot)."""
    page.evaluate(TIMES_JS)
    page.locator("#question textarea").fill(question)
    page.locator("#question textarea").press("Enter")
    if while_answering:
        page.locator("#chat .qa-sources").first.wait_for()
        while_answering()
    page.locator("#chat .qa-answer:not(.qa-streaming) .qa-badge").first.wait_for(timeout=120_000)
    return page.evaluate("window.__t")


def assert_opens_exactly(page: Any, card: Any) -> None:
    """Clicking ``card`` highlights exactly its quote in the viewer."""
    from playwright.sync_api import expect

    card.click()
    expect(page.locator("#viewer mark#hl")).to_have_text(card.locator(".qa-quote").text_content() or "", use_inner_text=False)


def test_seed_question_sources_first_then_who_said_what(browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    demo, service = start(tmp_path, ROOT / "briefings", CitingGenerator(ALLY_DRAFT, delay=0.1))
    shot = Shots(tmp_path, "seed")
    try:
        page = open_page(browser, demo)
        shot(page, "1-first-load")
        assert "1 article indexed" in page.locator("#status").inner_text()
        assert "Russia, Iran Not Allies in Syria" in page.locator("#chat").inner_text()  # an example drawn from the index
        t = ask(page, ALLY, lambda: shot(page, "2-sources-while-answering"))
        print(f"\nsources shown {t['sources'] - t['enter']:.0f} ms after Enter, finished answer {t['answer'] - t['enter']:.0f} ms")
        assert t["enter"] < t["sources"] < t["answer"]
        yes, no = page.locator("#chat .qa-side-yes .qa-card"), page.locator("#chat .qa-side-no .qa-card")
        assert "Levan Dzhagaryan" in yes.first.inner_text() and "weakening of the Iran-Russia alliance is a myth" in yes.first.inner_text()
        ryabkov = no.filter(has_text="Sergei Ryabkov")
        assert "Russia and Iran are not allies in Syria" in ryabkov.first.inner_text()
        assert page.locator("#chat .qa-side-head").all_inner_texts()[:2] == ["Yes (1 quote)", "No (2 quotes)"]
        assert_opens_exactly(page, yes.first)
        shot(page, "3-yes-card-open")
        assert_opens_exactly(page, ryabkov.first)
        assert page.locator("#viewer .qa-label").inner_text().startswith("Quote [")
        shot(page, "4-no-card-open")
        page.locator("#chat .qa-ref.qa-go-cite-0-1").focus()  # an [n] marker in the text opens its quote too, by keyboard
        page.keyboard.press("Enter")
        expect(page.locator("#viewer .qa-label")).to_contain_text("Quote [1]")
        expect(page.locator("#viewer mark#hl")).to_have_text(yes.first.locator(".qa-quote").text_content() or "", use_inner_text=False)
        page.close()
    finally:
        demo.close()


def test_barrier_question_timeline_marks_15_april_latest(browser: Any, tmp_path: Path) -> None:
    demo, _ = start(tmp_path, ROOT / "eval" / "briefings", CitingGenerator(BARRIER_DRAFT, delay=0.0))
    try:
        page = open_page(browser, demo)
        ask(page, BARRIER)
        points = page.locator("#chat .qa-tl-point")
        assert [p.locator("time").get_attribute("datetime") for p in points.all()] == ["2025-03-03", "2025-03-04", "2025-04-15"]
        latest = page.locator("#chat .qa-tl-latest")
        assert latest.count() == 1 and "15 Apr 2025" in latest.inner_text() and "latest" in latest.inner_text()
        Shots(tmp_path, "barrier")(page, "timeline")
        n = re.search(r"\[(\d+)\]", latest.inner_text())
        latest.locator("a").focus()
        page.keyboard.press("Enter")  # a point leads to its card
        assert page.evaluate("document.activeElement.id") == f"qa-card-0-{n.group(1) if n else ''}"
        page.close()
    finally:
        demo.close()


def test_keyboard_only_at_phone_width(browser: Any, tmp_path: Path) -> None:
    demo, _ = start(tmp_path, ROOT / "briefings", CitingGenerator(ALLY_DRAFT, delay=0.0))
    try:
        page = open_page(browser, demo, 390, 844)
        ask(page, ALLY)
        for _ in range(60):  # Tab from the question box to the first quote card
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.classList.contains('qa-card')"):
                break
        else:
            pytest.fail("no quote card reachable with Tab")
        quote = page.evaluate("document.activeElement.querySelector('.qa-quote').textContent")
        page.keyboard.press("Enter")
        mark = page.locator("#viewer mark#hl")
        mark.wait_for()
        assert mark.text_content() == quote
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        Shots(tmp_path, "phone")(page, "keyboard-card-open")
        page.close()
    finally:
        demo.close()


def judged(service: BriefingService, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``service`` answer as the support judge would: quote 1 supports, the others contradict the claim made
    with them, and one claim was cut."""
    events = service.events

    def with_judge(question: str, history: Any = None, **kw: Any) -> Iterator[Any]:
        for item in events(question, history, **kw):
            if isinstance(item, Answer):
                cites = tuple(replace(c, support=Support("supports" if c.n == 1 else "contradicts", 0.9, c.stance if c.stance != "neutral"
                                                         else "neither", 0.9, claim="It will open in June.")) for c in item.citations)
                item = replace(item, citations=cites, unsupported=("Okafor blamed the weather.",))
            yield item

    monkeypatch.setattr(service, "events", with_judge)


def test_checked_claims_and_cut_claims_once_judged(browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    demo, service = start(tmp_path, ROOT / "eval" / "briefings", CitingGenerator(BARRIER_DRAFT, delay=0.0))
    judged(service, monkeypatch)
    try:
        page = open_page(browser, demo)
        ask(page, BARRIER)
        checks = page.locator("#chat .qa-claim .qa-check").all_inner_texts()
        assert checks and set(checks) <= {"✓ supported by its quote", "✗ its quote says otherwise"}
        assert page.locator("#chat .qa-card .qa-checked").count() == page.locator("#chat .qa-card").count()
        cut = page.locator("#chat details.qa-cut")
        assert cut.locator("summary").inner_text() == "Not supported by the briefings (1)"
        assert not cut.locator("li").is_visible()  # collapsed until opened
        cut.locator("summary").click()
        assert cut.locator("li").inner_text() == "Okafor blamed the weather."
        page.wait_for_timeout(500)  # the message's fade-in: axe measures the colours as drawn
        page.locator("#chat .qa-answer").last.evaluate("e => e.scrollIntoView()")  # the chat scrolls inside its box
        Shots(tmp_path, "judged")(page, "claims-checked")
        assert serious(page) == []
        page.close()
    finally:
        demo.close()


def serious(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['impact']} {v['id']}: {[n['target'] for n in v['nodes']]}" for v in results.response["violations"]
            if v["impact"] in ("critical", "serious")]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_axe_finds_no_serious_violation_on_chat_and_briefings_tabs(browser: Any, tmp_path: Path, theme: str) -> None:
    from playwright.sync_api import expect

    demo, _ = start(tmp_path, ROOT / "eval" / "briefings", CitingGenerator(BARRIER_DRAFT, delay=0.0))
    shot = Shots(tmp_path, f"axe-{theme}")
    try:
        page = open_page(browser, demo, theme=theme)
        ask(page, BARRIER)
        page.locator("#chat .qa-card").first.click()
        page.locator("#viewer mark#hl").wait_for()
        page.wait_for_timeout(500)  # let the message's fade-in end: axe measures the colours as drawn
        shot(page, "chat")
        assert serious(page) == []
        page.get_by_role("tab", name="Briefings").click()
        expect(page.locator("#briefings-table")).to_contain_text("Harwick flood barrier cost rises")
        shot(page, "briefings")
        assert serious(page) == []
        page.close()
    finally:
        demo.close()


def test_upload_adds_a_briefing_and_updates_the_status_line(browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    demo, _ = start(tmp_path, ROOT / "briefings", None)
    try:
        page = open_page(browser, demo)
        page.get_by_role("tab", name="Briefings").click()
        note = tmp_path / "ceasefire-note.txt"
        note.write_text("Ceasefire Talks Resume in Geneva\n\nThe envoy said talks resume on Monday.\n", encoding="utf-8")
        page.locator("#upload input[type=file]").set_input_files(note)
        expect(page.locator("#briefings-table")).to_contain_text("Ceasefire Talks Resume in Geneva", timeout=20_000)
        expect(page.locator("#upload-results")).to_contain_text("added")
        expect(page.locator("#status")).to_contain_text("2 articles indexed")
        Shots(tmp_path, "upload")(page, "briefings-after-upload")
        page.get_by_role("tab", name="Chat").click()
        expect(page.locator("#chat")).to_contain_text("What do the briefings say about “Ceasefire Talks Resume in Geneva”?")
        page.close()
    finally:
        demo.close()


@pytest.mark.slow
def test_seed_question_with_the_local_model(browser: Any, tmp_path: Path) -> None:
    from qa.generators import make_generator

    settings = Settings(data_dir=tmp_path / "data")
    demo, service = start(tmp_path, ROOT / "briefings", make_generator(settings), embedder=settings.embedder,
                          min_evidence_score=settings.min_evidence_score, evidence_sentences=settings.evidence_sentences,
                          top_chunks=settings.top_chunks)
    shot = Shots(tmp_path, "local-model")
    try:
        page = open_page(browser, demo)
        t = ask(page, ALLY, lambda: shot(page, "sources-while-answering"))
        print(f"\nlocal model: sources shown {t['sources'] - t['enter']:.0f} ms after Enter, answer {t['answer'] - t['enter']:.0f} ms")
        assert t["enter"] < t["sources"] < t["answer"]
        shot(page, "answer")
        yes = page.locator("#chat .qa-side-yes .qa-card").filter(has_text="Levan Dzhagaryan")
        no = page.locator("#chat .qa-side-no .qa-card").filter(has_text="Sergei Ryabkov")
        assert yes.count() >= 1 and no.count() >= 1
        assert_opens_exactly(page, yes.first)
        assert_opens_exactly(page, no.first)
        shot(page, "no-card-open")
        page.close()
    finally:
        demo.close()


def test_a_source_filter_restricts_the_cards_to_that_source(browser: Any, tmp_path: Path) -> None:
    demo, _ = start(tmp_path, ROOT / "eval" / "briefings", CitingGenerator(BARRIER_DRAFT, delay=0.0))
    try:
        page = open_page(browser, demo)
        page.locator("#sources input").click()
        page.get_by_role("option", name="Coastal Herald").click()
        page.keyboard.press("Escape")
        ask(page, BARRIER)
        outlets = page.locator("#chat .qa-card .qa-meta").all_inner_texts()
        assert outlets and all("Coastal Herald" in m for m in outlets), outlets
        assert all("Coastal Herald" in li for li in page.locator("#chat .qa-read li").all_text_contents())
        Shots(tmp_path, "filter")(page, "coastal-herald-only")
        page.close()
    finally:
        demo.close()


def test_copy_as_markdown_and_the_url_box(browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    demo, _ = start(tmp_path, ROOT / "eval" / "briefings", CitingGenerator(BARRIER_DRAFT, delay=0.0))
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=demo.local_url.rstrip("/"))
        page = context.new_page()
        page.goto(demo.local_url, wait_until="load")
        ask(page, BARRIER)
        expect(page.locator("#answer-md textarea")).to_have_value(re.compile(r"^\*\*Both sides\*\*"))
        page.locator("#copy-md").click()
        assert page.evaluate("navigator.clipboard.readText()").startswith("**Both sides** — ")
        page.get_by_role("tab", name="Briefings").click()
        page.locator("#urls textarea").fill("https://example.org/barrier\n")
        page.locator("#fetch").click()
        expect(page.locator("#upload-results")).to_contain_text("https://example.org/barrier")
        expect(page.locator("#urls textarea")).to_have_value("")
        Shots(tmp_path, "urls")(page, "briefings-url-box")
        context.close()
    finally:
        demo.close()
