"""The chat page's stylesheet and its one script (``ui.app`` passes them to Gradio).

Colours: every text colour on the page's light background has a contrast of at least 4.5:1, and no side,
check or "latest" mark is told by colour alone (each has its word or symbol, and a border style).
``VIEWER_JS`` routes clicks (and Enter) on quote cards and ``[n]`` markers to the viewer's event, and a
timeline point to its card.

>>> ".qa-side-no" in CSS and "qa-jump" in VIEWER_JS
True
"""

# Quote cards live in chat messages; one capturing listener routes their clicks to the viewer's event.
VIEWER_JS = """
window.__qaShow = (el) => {
  const m = el.className.match(/qa-go-(cite|related)-(\\d+)-(\\d+)/);
  if (!m) return;
  document.querySelectorAll('.qa-card.qa-active').forEach((c) => c.classList.remove('qa-active'));
  if (el.classList.contains('qa-card')) el.classList.add('qa-active');
  trigger('click', {kind: m[1], turn: Number(m[2]), n: Number(m[3])});
};
window.__qaJump = (el) => {
  const m = el.className.match(/qa-jump-(\\d+)-(\\d+)/);
  const card = m && document.getElementById(`qa-card-${m[1]}-${m[2]}`);
  if (card) { card.scrollIntoView({block: 'nearest'}); card.focus(); }
};
if (!window.__qaBound) {
  window.__qaBound = true;
  const open = (e) => {
    const jump = e.target.closest && e.target.closest('.qa-jump');
    if (jump) { e.preventDefault(); e.stopPropagation(); window.__qaJump(jump); return; }
    const el = e.target.closest && e.target.closest('.qa-go');
    if (el) { e.preventDefault(); e.stopPropagation(); window.__qaShow(el); }
  };
  document.addEventListener('click', open, true);
  // buttons and links click on Enter by themselves; the [n] markers are spans with role=button
  document.addEventListener('keydown', (e) => {
    if ((e.key === 'Enter' || e.key === ' ') && e.target.matches && e.target.matches('span.qa-go')) open(e);
  }, true);
}
document.querySelectorAll('#viewer .html-container').forEach((c) => {  // the scrolling viewer: reachable by keyboard
  c.tabIndex = 0; c.setAttribute('role', 'region'); c.setAttribute('aria-label', 'Source article');
});
watch('value', () => { const m = element.querySelector('#hl'); if (m) m.scrollIntoView({block: 'center'}); });
"""

CSS = """
:root { --qa-link: #1d4ed8; --qa-muted: #4b5563; --qa-strong: #374151; --qa-green: #17692e; --qa-red: #b71c1c; }
.dark { --qa-link: #93b4ff; --qa-muted: #a1a1aa; --qa-strong: #d4d4d8; --qa-green: #4ade80; --qa-red: #f87171; }
#chat .prose { opacity: 1 !important; }  /* Gradio draws messages at 0.8 opacity: the colours below are meant as given */
button.primary { background: #c2410c !important; border-color: #c2410c !important; color: #fff !important; }
button.stop { background: #b91c1c !important; border-color: #b91c1c !important; color: #fff !important; }
.show-api, #upload .or, #sources input.subdued { color: var(--qa-muted) !important; }
.qa-q { white-space: pre-wrap; }
.qa-head { display: flex; align-items: center; gap: .6em; flex-wrap: wrap; margin-bottom: .3em; }
.qa-badge { font-weight: 600; font-size: .85em; padding: .15em .6em; border-radius: 999px; color: #fff; }
.qa-supported { background: #17692e; } .qa-contradicted { background: #b71c1c; }
.qa-mixed { background: #8a4b00; } .qa-not_found { background: #555; }
.qa-asked, .qa-meta, .qa-empty, .qa-status, .qa-side-count { color: var(--qa-muted); }
.qa-asked, .qa-status { font-size: .8em; }
.qa-status-line { font-size: .85em; color: var(--qa-strong); margin: 0; }
.qa-text { margin: .3em 0 .6em; white-space: pre-wrap; }
.qa-streaming .qa-text { color: var(--qa-muted); }
.qa-refused .qa-text { font-style: italic; }
.qa-sources { font-size: .85em; margin: .2em 0 .5em 1.3em; padding: 0; }
.qa-src-title { font-weight: 600; }
.qa-read summary, .qa-cut summary { font-size: .85em; cursor: pointer; color: var(--qa-strong); }
.qa-claims { list-style: none; padding: 0; white-space: normal; }
.qa-claim { margin: .15em 0; }
.qa-check { font-size: .75em; border: 1px solid currentColor; border-radius: 999px; padding: 0 .45em; white-space: nowrap; }
.qa-claim-supported .qa-check { color: var(--qa-green); } .qa-claim-contradicted .qa-check, .qa-claim-unsupported .qa-check { color: var(--qa-red); }
.qa-claim-unchecked .qa-check, .qa-claim-uncited .qa-check { color: var(--qa-muted); }
.qa-cut ul { margin: .2em 0 .4em 1.2em; padding: 0; }
.qa-ref { color: var(--qa-link); cursor: pointer; font-weight: 600; }
.qa-cards { display: flex; flex-direction: column; gap: .45em; }
.qa-cards-title { font-size: .85em; font-weight: 600; margin: .2em 0 .4em; }
button.qa-card { display: block; width: 100%; text-align: left; font: inherit; color: inherit; border: 1px solid #9ca3af;
  border-left: 4px solid var(--qa-link); border-radius: 6px; padding: .45em .7em; cursor: pointer; background: var(--background-fill-primary); }
.qa-card > span { display: block; }
.qa-related .qa-card { border-left-color: #6b7280; }
.qa-card:hover { background: var(--background-fill-secondary); }
.qa-card:focus-visible, .qa-jump:focus-visible, .qa-ref:focus-visible { outline: 3px solid var(--qa-link); outline-offset: 2px; }
.qa-card.qa-active { box-shadow: 0 0 0 2px var(--qa-link); }
.qa-card-top { display: flex !important; align-items: center; gap: .5em; flex-wrap: wrap; font-size: .85em; }
.qa-n { background: #1d4ed8; color: #fff; border-radius: 4px; padding: 0 .45em; font-weight: 600; }
.qa-who { font-weight: 600; }
.qa-tag { font-size: .8em; border: 1px solid #6b7280; border-radius: 999px; padding: 0 .5em; }
.qa-checked { color: var(--qa-green); border-color: var(--qa-green); } .qa-unrelated { color: var(--qa-red); border-color: var(--qa-red); }
.qa-quote { margin: .25em 0; white-space: pre-wrap; }
.qa-quote::before { content: "“"; } .qa-quote::after { content: "”"; }
.qa-meta { font-size: .8em; }
.qa-sides { display: grid; grid-template-columns: repeat(auto-fit, minmax(14em, 1fr)); gap: .7em; }
.qa-side { border-top: 4px solid var(--qa-muted); padding-top: .3em; min-width: 0; }
.qa-side-yes { border-top: 4px solid var(--qa-green); } .qa-side-no { border-top: 4px double var(--qa-red); }
.qa-side-neither { border-top: 4px dotted var(--qa-muted); }
.qa-side-head { margin: 0 0 .4em; font-size: 1em; }
.qa-side-yes .qa-side-head::before { content: "✔ "; } .qa-side-no .qa-side-head::before { content: "✘ "; }
.qa-side-neither .qa-side-head::before { content: "– "; }
.qa-none { font-size: .85em; color: var(--qa-muted); font-style: italic; margin: 0; }
.qa-timeline { margin: .3em 0 .8em; }
.qa-tl { list-style: none; display: flex; flex-wrap: wrap; padding: 0; margin: .7em 0 0; }
.qa-tl-point { flex: 1 1 0; min-width: 6.5em; border-top: 3px solid #9ca3af; padding-top: .55em; position: relative; }
.qa-tl-dot { position: absolute; top: -.55em; left: 0; width: .8em; height: .8em; border-radius: 50%; background: var(--qa-muted); }
.qa-tl-latest .qa-tl-dot { width: 1.1em; height: 1.1em; top: -.7em; background: var(--qa-link); box-shadow: 0 0 0 2px var(--background-fill-primary), 0 0 0 4px var(--qa-link); }
.qa-jump { display: flex; flex-direction: column; align-items: flex-start; gap: .1em; padding-right: .6em; font-size: .85em;
  color: inherit !important; text-decoration: none !important; }
.qa-jump:hover .qa-tl-where { text-decoration: underline; }
.qa-tl-n { color: var(--qa-link); font-weight: 600; }
.qa-latest { background: #1d4ed8; color: #fff; border-radius: 4px; padding: 0 .4em; font-size: .9em; }
#viewer .html-container { padding-top: 0; }  /* the sticky article header starts at the very top */
.qa-article { padding: 0 .6em; }
.qa-article-head { position: sticky; top: 0; background: var(--background-fill-primary); padding: .4em 0;
  border-bottom: 1px solid var(--border-color-primary); }
.qa-label { font-size: .85em; font-weight: 600; color: var(--qa-link); }
.qa-title { margin: .2em 0; }
.qa-body { white-space: pre-wrap; line-height: 1.55; margin-top: .6em; }
.qa-body mark { background: #ffe066; color: #000; padding: 0 .1em; border-radius: 2px; outline: 1px solid #000; }  /* not by colour alone */
"""
