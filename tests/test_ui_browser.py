"""The chat page in a real headless Chromium (Debian's ``/usr/bin/chromium``, no browser download).

Ask the seed question, open quote card 1 and marker [2] in the source viewer, then upload a briefing.
Screenshots go to the test's ``tmp_path`` and are copied to ``/tmp/ui-shots/``.
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import pytest

from core.settings import Settings
from qa.service import BriefingService
from ui.app import serve

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/ui-shots")
ALLY = "Did Russia call Iran an ally?"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[gr.Blocks, BriefingService]]:
    service = BriefingService(Settings(data_dir=tmp_path / "data", embedder="hash", min_evidence_score=0.0), generator=None)
    service.add([ROOT / "briefings"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = serve(service, "127.0.0.1", port, block=False)
    yield demo, service
    demo.close()


def test_ask_open_quote_in_viewer_and_upload(app: tuple[gr.Blocks, BriefingService], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("install Debian's chromium (scripts/test.sh does it as root)")
    from playwright.sync_api import expect, sync_playwright

    demo, service = app
    shots: list[Path] = []

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(demo.local_url, wait_until="load")
        question = page.locator("#question textarea")
        question.wait_for()

        def shot(name: str) -> None:
            shots.append(tmp_path / f"{name}.png")
            page.screenshot(path=shots[-1], full_page=True)

        shot("1-first-load")
        question.fill(ALLY)
        t0 = time.perf_counter()
        page.locator("#send").click()
        page.locator("#chat .qa-answer").first.wait_for()
        first_s = time.perf_counter() - t0
        cards = page.locator("#chat .qa-card")
        cards.first.wait_for()
        print(f"\nfirst text in the page after {first_s:.2f} s, quote cards after {time.perf_counter() - t0:.2f} s")
        assert page.locator("#chat .qa-badge").first.inner_text() in {"Supported", "Contradicted", "Both sides"}

        cards.first.click()
        mark = page.locator("#viewer mark#hl")
        mark.wait_for()
        quote_1 = cards.first.locator(".qa-quote").text_content()
        expected = service.ask(ALLY).citations[0].quote
        assert quote_1 == expected and mark.text_content() == expected
        expect(mark).to_be_in_viewport()
        shot("2-quote-1-in-viewer")

        page.locator("#chat .qa-ref.qa-go-cite-0-2").click()
        expect(mark).to_have_text(cards.nth(1).locator(".qa-quote").text_content() or "", use_inner_text=False)
        assert page.locator("#viewer .qa-label").inner_text().startswith("Quote [2]")

        page.get_by_role("tab", name="Briefings").click()
        table = page.locator("#briefings-table")
        expect(table).to_contain_text("Russia, Iran Not Allies in Syria")
        note = tmp_path / "ceasefire-note.txt"
        note.write_text("Ceasefire Talks Resume in Geneva\n\nThe envoy said talks resume on Monday.\n", encoding="utf-8")
        page.locator("#upload input[type=file]").set_input_files(note)
        expect(table).to_contain_text("Ceasefire Talks Resume in Geneva", timeout=20_000)
        expect(page.locator("#upload-results")).to_contain_text("added")
        shot("3-briefings-after-upload")
        browser.close()

    SHOTS.mkdir(exist_ok=True)
    for path in shots:
        shutil.copy(path, SHOTS / path.name)
