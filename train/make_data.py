"""Training pairs for the checker, made by construction from BBC articles no evaluation uses.

Three tasks, one input format (``qa.checker.pair_text``): the task, the question, the claim, then the quote.

| task | label 0 | label 1 | label 2 |
|---|---|---|---|
| answers (question, sentence) | answers | on topic, does not answer | unrelated |
| supports (claim, quote) | supports | contradicts | not stated |
| side (yes/no question, quote) | yes | no | neither |

Positives: the sentence's own statement without its attribution ("X said"), names given in full, or weakened
("will" → "could"); and the local model's questions and paraphrased answers (``train/llm_gen.py``), kept only where
their numbers and names are the sentence's. Negatives, made by code so that the label is right by construction:
another number, year, month, day, place or person; a negation inserted or removed; a denial; the quote hedged
("could") against the definite claim; another named speaker; the neighbouring fact
(profit for revenue, bonus for salary: the new term is absent from the sentence); another sentence of the same
article (on topic) or of another article (unrelated). Then the triples helpers wrote by hand from training articles
(`train/written/`, kinds `written_*`), uncapped: each gives its side and supports pairs, and each (question, quote)
an ``answers`` pair (answers when the quote states the claim, another value of the fact, a yes or a no; on topic when not).

    python train/make_data.py            # → train/data/pairs.jsonl (seeded; the same input gives the same file)

>>> _numbers_kept("Shell will pay $1m.", "Shell is to pay $1m (£522,000) to her.")
True
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from train import edits  # noqa: E402
from train.corpus import TrainArticle, training_articles  # noqa: E402
from train.sentences import article_sentences  # noqa: E402
from train.written.check import LABELS, SIDES, allowed_articles, problems  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
WRITTEN = Path(__file__).resolve().parent / "written"  # triples helpers wrote by hand (train/written/INSTRUCTIONS.md)
SEED = 7
CAP = 2500  # pairs per (task, label, kind) at most: 2 cores train on ~40,000 pairs in a session
CAPS = {"denial": 1200, "double_negation": 1200}  # templated wrappers: enough to learn, not to dominate
_STOP = frozenset("the a an of in on at to for and or by is are was were be been will would has have had it its he she they "
                  "that this with from as said says not no what who when where why how which did does do".split())


@dataclass(frozen=True)
class Pair:
    """One training example: ``label`` indexes the task's three labels (table above); ``kind`` says how it was made."""

    task: str
    question: str
    claim: str
    quote: str
    label: int
    kind: str
    source: str


def _content(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9£$%]+", text.lower()) if w not in _STOP and len(w) > 2}


def _numbers_kept(new: str, sentence: str) -> bool:
    """Every number of ``new`` is one of ``sentence``'s."""
    return set(edits.NUMBER.findall(new)) <= set(edits.NUMBER.findall(sentence))


def _names_kept(new: str, sentence: str) -> bool:
    """Every capitalised word of ``new`` occurs in the sentence (a name the sentence does not give is not its claim)."""
    return all(w in sentence for w in re.findall(r"\b[A-Z][\w'’-]+", new.strip()) if w.lower() not in _STOP)


def _stems(text: str) -> set[str]:
    return {w[:4] for w in _content(text)}


def _new_stems(new: str, sentence: str, title: str = "") -> set[str]:
    """Content-word stems of ``new`` that neither the sentence nor the headline has."""
    return _stems(new) - _stems(sentence) - _stems(title) - {"what", "much", "many", "whom", "whos"}


def _is_name(speaker: str | None) -> bool:
    """A named speaker ("Mr Blair", "Gordon Brown"), not a pronoun or a description ("The prime minister is")."""
    return bool(speaker and re.fullmatch(r"(?:(?:Mr|Mrs|Ms|Dr|Sir|Lord)\.? )?[A-Z][\w'’-]+(?: [A-Z][\w'’-]+){0,3}", speaker)
                and speaker.split()[0] not in ("The", "This", "It", "A", "He", "She", "They", "But", "And", "In"))


def _far(sentence: str, other: str) -> bool:
    """``other`` shares no number and few words with ``sentence`` (so it cannot restate it)."""
    shared = _content(sentence) & _content(other)
    return not (set(edits.NUMBER.findall(sentence)) & set(edits.NUMBER.findall(other))) and len(shared) <= 2


_REPORTED = re.compile(r"[\"“”]|(?:^|\s)['‘]|\b(said|says|say|told|tells|added|adds|according|announced|claimed|believes?|argued|"
                       r"warned|insisted|stated|described|called|confirmed|denied|admitted|explained)\b", re.I)

_DENIALS = ("It is not true that {}", "He denied that {}", "She rejected claims that {}", "Officials denied reports that {}",
            "It is false that {}")


def _deny(sentence: str, rng: random.Random) -> str:
    """The sentence inside a denial: its statement is denied (a denied negation affirms it)."""
    body = edits.strip_attribution(sentence)[0].rstrip(".")
    return rng.choice(_DENIALS).format(_lower_first(body)) + "."


def _lower_first(text: str) -> str:
    """The first letter in lower case unless it starts a name or an acronym ("The plan" → "the plan"; "BT", "Tony Blair" kept)."""
    return text if re.match(r"[A-Z][a-z]*[A-Z]|[A-Z]+\b|[A-Z][a-z]+ [A-Z]", text) else text[0].lower() + text[1:]


def _supports(art: TrainArticle, s: str, sents: list[str], rng: random.Random, names: list[str], nums: list[str],
              foreign: str) -> Iterator[Pair]:
    claim, speaker = edits.strip_attribution(s)
    claim = edits.expand_names(claim, art.body)
    if len(claim.split()) < 5:
        return
    yield Pair("supports", "", claim, s, 0, "plain", art.path)
    made = [("wrong_number", edits.change_number(claim, rng, nums), 1),
            ("wrong_year", edits.change_year(claim, rng), 1),
            ("moved_date", edits.change_word(claim, edits.MONTHS, rng) or edits.change_word(claim, edits.DAYS, rng), 1),
            ("wrong_place", edits.change_word(claim, edits.PLACES, rng), 1),
            ("wrong_person", edits.change_name(claim, names, rng), 1),
            ("negation", edits.negate(claim), 1),
            ("negation", edits.affirm(claim), 1),
            ("weaker_claim", edits.hedge(claim), 0)]  # "could" is stated by a quote that says "will"
    swapped = edits.neighbour(claim, rng)
    made.append(("neighbouring_fact", swapped[0] if swapped and swapped[1] not in s.lower() else None, 2))
    if hedged := edits.hedge(s):  # a definite claim is not stated by a quote that only makes it possible
        yield Pair("supports", "", claim, hedged, 2, "conditional", art.path)
    if _is_name(speaker):  # the answer names the speaker the quote names: "X said …", "He said …"
        pronoun = "He" if re.match(r"(Mr|Sir|Lord)\b", speaker) else "She" if re.match(r"(Mrs|Ms|Miss|Lady)\b", speaker) else speaker
        said = f"{rng.choice((speaker, pronoun))} said {_lower_first(claim)}"
        yield Pair("supports", rng.choice((f"What did {speaker} say?", "")), said, s, 0, "speaker_said", art.path)
    if _is_name(speaker) and names:
        other = [n for n in names if n.split()[-1] not in s]
        if other:
            who = rng.choice(other)
            made.append(("other_speaker", f"{who} said {claim[0].lower()}{claim[1:]}", 2))
            yield Pair("supports", f"What did {who} say?", f"{who} said {claim[0].lower()}{claim[1:]}", s, 2, "other_speaker", art.path)
    elif speaker is None and names and not _REPORTED.search(s):  # the reporter's own voice: nobody "said" it
        who = rng.choice(names)
        said = f"{who} said {claim[0].lower()}{claim[1:]}"
        yield Pair("supports", "", said, s, 2, "unattributed", art.path)
        yield Pair("supports", f"What did {who} say?", said, s, 2, "unattributed", art.path)
    for kind, text, label in made:
        if text and text != claim:
            yield Pair("supports", "", text, s, label, kind, art.path)
    if neg := edits.negate(s):
        yield Pair("supports", "", claim, _deny(neg, rng), 0, "double_negation", art.path)
    yield Pair("supports", "", claim, _deny(s, rng), 1, "denial", art.path)
    near = [o for o in sents if o != s and _far(s, o)]
    if near:
        yield Pair("supports", "", claim, rng.choice(near), 2, "off_topic", art.path)
    yield Pair("supports", "", claim, foreign, 2, "unrelated", art.path)
    if re.search(r"\b(could|might|may|if|unless)\b", s) and (definite := re.sub(r"\b(could|might|may)\b", "will", claim, count=1)) != claim:
        yield Pair("supports", "", definite, s, 2, "conditional", art.path)


def _sides(art: TrainArticle, s: str, sents: list[str], rng: random.Random, nums: list[str], foreign: str) -> Iterator[Pair]:
    claim, speaker = edits.strip_attribution(s)
    affirmed = edits.affirm(claim)
    if affirmed and (q := edits.yes_no_question(affirmed)):  # a real negative sentence answers "no"
        yield Pair("side", q, "", s, 1, "negation", art.path)
        return
    q = edits.yes_no_question(claim)
    if not q:
        return
    yield Pair("side", q, "", s, 0, "plain", art.path)
    if _is_name(speaker) and (neg := edits.negate(s)):  # "Did X say …?" against X's words and their negation
        asked = f"Did {speaker} say {_lower_first(claim).rstrip('.')}?"
        yield Pair("side", asked, "", s, 0, "speaker_said", art.path)
        yield Pair("side", asked, "", neg, 1, "speaker_said_negation", art.path)
    for kind, question in (("wrong_number", edits.change_number(q, rng, nums)), ("wrong_year", edits.change_year(q, rng)),
                           ("moved_date", edits.change_word(q, edits.MONTHS, rng))):
        if question:
            yield Pair("side", question, "", s, 1, kind, art.path)
    if neg := edits.negate(s):
        yield Pair("side", q, "", neg, 1, "negation", art.path)
        yield Pair("side", q, "", _deny(neg, rng), 0, "double_negation", art.path)
        yield Pair("side", q, "", _deny(s, rng), 1, "denial", art.path)
    if hedged := edits.hedge(s):
        yield Pair("side", q, "", hedged, 2, "conditional", art.path)
    near = [o for o in sents if o != s and _far(s, o)]
    if near:
        yield Pair("side", q, "", rng.choice(near), 2, "off_topic", art.path)
    yield Pair("side", q, "", foreign, 2, "unrelated", art.path)


def _answers_rules(art: TrainArticle, s: str, sents: list[str], rng: random.Random, foreign: str) -> Iterator[Pair]:
    """"What did X say?" for attributed sentences; another speaker's sentence does not answer it."""
    _, speaker = edits.strip_attribution(s)
    if not _is_name(speaker):
        return
    q = f"What did {speaker} say?"
    yield Pair("answers", q, "", s, 0, "speaker", art.path)
    others = [o for o in sents if _is_name(sp := edits.strip_attribution(o)[1]) and sp.split()[-1] not in speaker  # type: ignore[union-attr]
              and speaker.split()[-1] not in o and not re.match(r"\W*(he|she|they)\b", o, re.I)]
    if others:
        yield Pair("answers", q, "", rng.choice(others), 1, "other_speaker", art.path)
        claim = edits.strip_attribution(s)[0]
        yield Pair("side", f"Did {speaker} say {claim[0].lower()}{claim[1:].rstrip('.')}?", "", rng.choice(others), 2,
                   "other_speaker", art.path)
    yield Pair("answers", q, "", foreign, 2, "unrelated", art.path)


_SHORT = re.compile(r"(?:(?:in|on|by|to|at|about|around|over|under|nearly|almost) )?[£$€]?\d[\d,.]*(?:%| ?(?:bn|m|km/h|million|billion))?"
                    r"(?: (?:January|February|March|April|May|June|July|August|September|October|November|December|[a-z]+))?", re.I)


_ASKS_NUMBER = re.compile(r"(?i)(how (many|much|old|long|far|fast|big|high|low)|when|in what year|what (year|percentage|share|"
                          r"proportion|rate|price|amount|figure|sum|number|date|month)|by how much)\b")


def _short_answers(question: str, answer: str, s: str, rng: random.Random, nums: list[str], source: str) -> Iterator[Pair]:
    """The answer cut to its one number phrase ("310 people.", "In 1982.") — how an answer often reads — and the
    same with another number (contradicts). Only where the answer has exactly one number and the sentence has it."""
    found = [re.sub(r" (\w+)$", lambda m: "" if m.group(1).lower() in _STOP else m.group(), f.rstrip(".,")) for f in _SHORT.findall(answer)]
    if not _ASKS_NUMBER.match(question) or len(found) != 1 or len(edits.NUMBER.findall(found[0])) != 1 \
            or edits.NUMBER.findall(found[0])[0] not in s:
        return
    short = found[0][0].upper() + found[0][1:] + "."
    yield Pair("supports", question, short, s, 0, "short_answer", source)
    if (other := edits.change_year(short, rng) or edits.change_number(short, rng, nums)) and other != short:
        yield Pair("supports", question, other, s, 1, "short_answer_wrong", source)


def from_llm(row: dict, art: TrainArticle, sents: list[str], rng: random.Random, nums: list[str], foreign: str) -> Iterator[Pair]:
    """Pairs from one checked proposal of the local model (``train/llm_gen.py``)."""
    p, s = row.get("proposal") or {}, row["sentence"]
    question, answer, yes_q = str(p.get("question", "")), str(p.get("answer", "")), str(p.get("yes_question", ""))
    near = [o for o in sents if o != s and _far(s, o)]
    if question.endswith("?") and _numbers_kept(question, s) and len(_new_stems(question, s, art.title)) <= 1:
        yield Pair("answers", question, "", s, 0, "llm_question", art.path)
        if near:
            yield Pair("answers", question, "", rng.choice(near), 1, "off_topic", art.path)
        yield Pair("answers", question, "", foreign, 2, "unrelated", art.path)
        if answer and answer != s and _numbers_kept(answer, s) and _names_kept(answer, s) and len(_new_stems(answer, s)) <= 2:
            for asked in (question, ""):  # with and without its question, as the answer path and `check` read it
                yield Pair("supports", asked, answer, s, 0, "paraphrase", art.path)
                for kind, text in (("wrong_number", edits.change_number(answer, rng, nums)), ("wrong_year", edits.change_year(answer, rng)),
                                   ("negation", edits.negate(answer))):
                    if text:
                        yield Pair("supports", asked, text, s, 1, kind, art.path)
            yield from _short_answers(question, answer, s, rng, nums, art.path)
            if near:
                yield Pair("supports", question, answer, rng.choice(near), 2, "off_topic", art.path)
    if yes_q.endswith("?") and re.match(r"(?i)(is|are|was|were|will|would|can|could|has|have|had|do|does|did|should)\b", yes_q) \
            and _numbers_kept(yes_q, s) and not _new_stems(yes_q, s) and _names_kept(yes_q, s):
        yield Pair("side", yes_q, "", s, 0, "llm_question", art.path)
        if changed := edits.change_number(yes_q, rng, nums) or edits.change_year(yes_q, rng):
            yield Pair("side", changed, "", s, 1, "wrong_number", art.path)
        if near:
            yield Pair("side", yes_q, "", rng.choice(near), 2, "off_topic", art.path)
        if neg := edits.negate(s):  # the same real question against the quote edited: its side is known
            yield Pair("side", yes_q, "", neg, 1, "llm_negation", art.path)
            yield Pair("side", yes_q, "", _deny(neg, rng), 0, "llm_double_negation", art.path)
        yield Pair("side", yes_q, "", _deny(s, rng), 1, "llm_denial", art.path)
        if hedged := edits.hedge(s):
            yield Pair("side", yes_q, "", hedged, 2, "llm_conditional", art.path)


def generate(seed: int = SEED, llm_path: Path = DATA / "llm_raw.jsonl") -> list[Pair]:
    """All pairs, in a seeded order."""
    rng = random.Random(seed)
    arts = list(training_articles())
    by_path = {a.path: a for a in arts}
    pool = [s for a in arts[::7] for s in article_sentences(a.body)[:6]]
    pairs: list[Pair] = []
    for art in arts:
        sents = [s for s in article_sentences(art.body) if 6 <= len(s.split()) <= 50]
        names, nums = edits.person_names(art.body), edits.NUMBER.findall(art.body)
        for s in rng.sample(sents, min(6, len(sents))):
            foreign = rng.choice(pool)
            pairs += _supports(art, s, sents, rng, names, nums, foreign)
            pairs += _sides(art, s, sents, rng, nums, foreign)
            pairs += _answers_rules(art, s, sents, rng, foreign)
    if llm_path.exists():
        for line in llm_path.open(encoding="utf-8"):
            row = json.loads(line)
            art = by_path.get(row["id"].split("#")[0])
            if art:
                sents = article_sentences(art.body)
                pairs += from_llm(row, art, sents, rng, edits.NUMBER.findall(art.body), rng.choice(pool))
    # the same claim/question sometimes gets the same quote twice by two routes: keep the first
    seen: set[tuple[str, str, str, str]] = set()
    unique = [p for p in pairs if (k := (p.task, p.question, p.claim, p.quote)) not in seen and not seen.add(k)]
    rng.shuffle(unique)
    counts: Counter[tuple[str, int, str]] = Counter()
    return [p for p in unique if (counts.update([k := (p.task, p.label, p.kind)]) or counts[k] <= CAPS.get(p.kind, CAP))]


def written_to_pairs(row: dict) -> list[Pair]:
    """The training pairs one written triple gives."""
    kind, src = f"written_{row['kind']}", row["source"]
    out = []
    if row["side"] is not None:
        out.append(Pair("side", row["question"], "", row["quote"], tuple(SIDES).index(row["side"]), kind, src))
    if row["claim"].strip():
        out.append(Pair("supports", row["question"], row["claim"], row["quote"], LABELS.index(row["label"]), kind, src))
    return out


def written_answers(rows: list[dict]) -> list[Pair]:
    """The ``answers`` pairs the written triples give: the quote answers the question when it states the claim or
    another value of the same fact (``supports`` / ``contradicts``; a yes or a no), is on topic without answering
    when it does not state it (``unrelated``; neither). A (question, quote) written with both is left out."""
    verdicts: dict[tuple[str, str], set[int]] = {}
    first: dict[tuple[str, str], dict] = {}
    for row in rows:
        key = (row["question"], row["quote"])
        answered = row["side"] in ("yes", "no") if row["side"] is not None else row["label"] != "unrelated"
        verdicts.setdefault(key, set()).add(0 if answered else 1)
        first.setdefault(key, row)
    return [Pair("answers", q, "", quote, next(iter(labels)), f"written_answers_{first[(q, quote)]['kind']}", first[(q, quote)]["source"])
            for (q, quote), labels in verdicts.items() if len(labels) == 1]


def written_pairs(folder: Path = WRITTEN) -> list[Pair]:
    """Every valid written triple's pairs, in file order (files sorted by name), then their ``answers`` pairs;
    invalid lines are left out."""
    allowed = allowed_articles(folder)
    seen: set[tuple] = set()
    rows: list[dict] = []
    for file in sorted(folder.glob("triples-*.jsonl")):
        for line in filter(str.strip, file.read_text(encoding="utf-8").splitlines()):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not problems(row, allowed, seen):
                rows.append(row)
    return [p for row in rows for p in written_to_pairs(row)] + written_answers(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=DATA / "pairs.jsonl")
    args = parser.parse_args()
    pairs = generate(args.seed) + written_pairs()  # the hand-written triples after the seeded, capped ones
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(asdict(p), ensure_ascii=False) + "\n" for p in pairs)
    args.out.write_text(text, encoding="utf-8")
    print(f"{len(pairs)} pairs → {args.out} (sha256 {hashlib.sha256(text.encode()).hexdigest()[:16]})")
    for (task, label, kind), n in sorted(Counter((p.task, p.label, p.kind) for p in pairs).items()):
        print(f"{task:9} {label} {kind:18} {n}")


if __name__ == "__main__":
    main()
