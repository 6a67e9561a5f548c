"""Support and stance judge: does one shown quote support, contradict or not bear on what the answer says?

The local model is used as a constrained classifier, not a writer: a fixed instruction prefix (its KV
cache kept), then the question, the claim and the quote, and the label read from the next-token
log-probabilities of a few candidate strings, in one forward pass over the variable part. Code signals
are inputs and vetoes: a number of the question or of the claim that the quote never states rules out
"supports" (and "yes"). A calibration fitted on the calib split of ``eval/support`` by ``bench/judge.py``
(``qa/judge_calibration.json``)
(per-label biases, or a linear layer over the log-probabilities and code signals; ``load_calibration``)
turns the log-probabilities into the decision.

- wh-questions: the support task (claim vs quote) gives ``label``; ``side`` is ``None``.
- yes/no questions: the stance task (question vs quote) gives ``side`` (yes / no / neither); ``label``
  follows it (an empty claim means "the answer is yes": yes → supports, no → contradicts), or, when the
  claim takes a side ("No, it will not open in June."), compares the two sides.

Example (needs the local model; one judgement ≈ one forward pass over ~80 tokens)::

    engine = qa.generators.llama_cpp.local_engine(Settings())      # or the app's WorkerGenerator
    judge = Judge(engine, load_calibration())
    j = judge.judge("Did Russia call Iran an ally?", "", "Ryabkov has said Russia and Iran are not allies in Syria.")
    j.side, j.label          # ('no', 'contradicts')

>>> _claim_side("Will the barrier open in June?", "No, it will not open in June.")
'no'
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from qa.model_files import EXPECTED_SHA256
from qa.question import profile_of
from qa.refusal import missing_names, missing_numbers
from qa.stance import stance_of

Label = Literal["supports", "contradicts", "unrelated"]
Side = Literal["yes", "no", "neither"]
LABELS: tuple[Label, ...] = ("supports", "contradicts", "unrelated")
SIDES: tuple[Side, ...] = ("yes", "no", "neither")
_FROM_SIDE: dict[str, Label] = {"yes": "supports", "no": "contradicts", "neither": "unrelated"}


@dataclass(frozen=True)
class Judgement:
    """The judge's verdict on one quote: ``label`` with its probability ``p``; for yes/no questions the
    quote's ``side`` with ``p_side`` (both ``None`` otherwise); ``vetoes``: code checks that fired;
    ``model``: the model's own first choice (the raw argmax, before calibration and code signals)."""

    label: Label
    p: float
    side: Side | None = None
    p_side: float | None = None
    vetoes: tuple[str, ...] = ()
    model: str = ""


@dataclass(frozen=True)
class Calibration:
    """Fit on the calib split only. Either biases added to the raw log-probabilities of each label, or (when
    ``*_weights`` are set) a linear layer over ``features()``: the model's log-probabilities and code signals."""

    support: Mapping[str, float] = field(default_factory=dict)
    side: Mapping[str, float] = field(default_factory=dict)
    support_weights: tuple[tuple[float, ...], ...] | None = None  # one row per label, one column per feature
    side_weights: tuple[tuple[float, ...], ...] | None = None
    answers: Mapping[str, float] = field(default_factory=dict)  # the checker's answers task (quotes first), biases only


class LabelScorer(Protocol):
    """Scores candidate labels as the next token after ``prefix + text`` (the local engine,
    ``qa.generators.llama_cpp.LlamaCppGenerator``, and its worker, ``WorkerGenerator``, have it)."""
    def logprobs_many(self, prefix: str, items: Sequence[tuple[str, Sequence[str]]]) -> list[list[float]]:
        """For each ``(text, labels)``: log-probs (whole vocabulary) of each label's first token after
        ``prefix + text``; ``prefix`` is fixed and cacheable."""
        ...


_SYSTEM = "<|im_start|>system\n{}<|im_end|>\n<|im_start|>user\n"
_TURN = "{}<|im_end|>\n<|im_start|>assistant\nLabel:"

_SUPPORT_RULES = (
    "Task A. Given a question, an answer and one quote from an article, reply with one word:\n"
    "supports - the quote itself states what the answer says (same person, thing, number, date and place);\n"
    "contradicts - the quote gives a different value for the same fact (another number, date, place or "
    "person), or says the opposite, or shows the named speaker refused to say it;\n"
    "unrelated - the quote is about something else: another event, year, person or quantity, or it is a "
    "statement by someone other than the person the answer names.\n"
    "Examples:\n"
    "Question: When will the bridge reopen?\nAnswer: In May.\nQuote: The bridge will reopen in May, the mayor said.\n"
    "Label: supports\n"
    "Question: When will the bridge reopen?\nAnswer: In May.\nQuote: The bridge is now expected to reopen in July.\n"
    "Label: contradicts\n"
    "Question: How many staff does the firm employ?\nAnswer: 200 staff.\nQuote: The firm will cut 20 jobs.\n"
    "Label: unrelated\n"
    "Question: What did the mayor say about the bridge?\nAnswer: The mayor said it is unsafe.\n"
    "Quote: \"It is unsafe,\" said the engineer John Hale.\nLabel: unrelated\n"
)
_SIDE_RULES = (
    "Task B. Given a yes/no question and one quote from an article (no answer), reply with one word: what the "
    "quote itself says about the question.\n"
    "yes - the quote states that the answer is yes;\n"
    "no - the quote states that the answer is no (a denial, a negation, a different date or number for the "
    "same thing);\n"
    "neither - the quote does not settle it: it is about something else, it is a statement by someone other "
    "than the person the question asks about, or it is only a possibility or a condition (\"only if\", "
    "\"could\", \"has not decided\").\n"
    "Read negations carefully: \"did not rule out X\" means X is still possible; \"the weakening of the "
    "alliance is a myth\" affirms the alliance.\n"
    "Examples:\n"
    "Question: Will the bridge reopen in May?\nQuote: The bridge will reopen in May, the mayor said.\nLabel: yes\n"
    "Question: Will the bridge reopen in May?\nQuote: The bridge is now expected to reopen in July.\nLabel: no\n"
    "Question: Will the bridge reopen in May?\nQuote: It will reopen only if the inspectors approve it.\n"
    "Label: neither\n"
    "Question: Did the mayor say the bridge is unsafe?\nQuote: \"It is unsafe,\" said the engineer John Hale.\n"
    "Label: neither"
)
# One prefix for both tasks, so that the KV cache holds it once whatever the question's kind.
PREFIX = _SYSTEM.format("You check news quotes. There are two tasks.\n\n" + _SUPPORT_RULES + "\n" + _SIDE_RULES)


def task_text(question: str, claim: str, quote: str, speaker: str | None = None) -> str:
    """The variable part of one judgement, after ``PREFIX``: task B (side) for yes/no questions, else task A."""
    who = f"\nSpeaker: {speaker}" if speaker else ""
    if profile_of(question).yes_no:
        return _TURN.format(f"Task B.\nQuestion: {question}\nQuote: {quote}{who}")
    return _TURN.format(f"Task A.\nQuestion: {question}\nAnswer: {claim or '(see the question)'}\nQuote: {quote}{who}")


class Judge:
    """Judges the quotes an answer shows (a few per answer) in one batch, reusing the scorer's cached prefix.
    ``cheap``: a judgement costs milliseconds, so callers may judge every candidate sentence (the checker)."""

    cheap = False

    def __init__(self, scorer: LabelScorer, calibration: Calibration | None = None, *, vetoes: bool = True) -> None:
        self.scorer = scorer
        self.calibration = calibration or DEFAULT_CALIBRATION
        self.vetoes = vetoes

    def raw(self, question: str, claim: str, quote: str, speaker: str | None = None) -> dict[str, float]:
        """The uncalibrated log-probabilities of the task's labels (sides for yes/no questions)."""
        return self.raw_many(question, [(claim, quote, speaker)])[0]

    def raw_many(self, question: str, shown: Sequence[tuple[str, str, str | None]]) -> list[dict[str, float]]:
        """``raw`` for each ``(claim, quote, speaker)``, in one call to the scorer."""
        names = SIDES if profile_of(question).yes_no else LABELS
        items = [(task_text(question, claim, quote, speaker), [f" {n}" for n in names]) for claim, quote, speaker in shown]
        return [dict(zip(names, row)) for row in self.scorer.logprobs_many(PREFIX, items)] if items else []

    def judge(self, question: str, claim: str, quote: str, speaker: str | None = None) -> Judgement:
        """The judgement of one quote shown for ``claim`` (an answer sentence; "" for a bare yes/no)."""
        return self.judge_all(question, [(claim, quote, speaker)])[0]

    def judge_all(self, question: str, shown: Sequence[tuple[str, str, str | None]], stated: Sequence[str] = (),
                  articles: Sequence[str] = ()) -> list[Judgement]:
        """Judge each shown ``(claim, quote, speaker)`` in one batch over the cached prefix. ``stated[i]``: what
        the i-th quote's article states around it that the number veto counts too (its date line: an answer to
        "when was it published?" takes the date from there, not from the quote); ``articles[i]``: that
        article's title and text, for the name veto (a name the claim gives that the article never does)."""
        raws = self.raw_many(question, shown)
        pad = [""] * len(shown)
        return [self.decide(question, claim, quote, raw, also, text)
                for (claim, quote, _), raw, also, text in zip(shown, raws, [*stated, *pad], [*articles, *pad])]

    def decide(self, question: str, claim: str, quote: str, raw: Mapping[str, float], stated: str = "", article: str = "") -> Judgement:
        """Calibrate, veto and pick the label from ``raw`` log-probabilities (no model call)."""
        fired = tuple(veto_reasons(question, claim, f"{quote} {stated}".strip(), article)) if self.vetoes else ()
        yes_no = profile_of(question).yes_no
        names, bias, weights = (SIDES, self.calibration.side, self.calibration.side_weights) if yes_no else (
            LABELS, self.calibration.support, self.calibration.support_weights)
        if weights is not None:
            scores = dict(zip(names, (np.array(weights) @ features(question, claim, quote, raw)).tolist()))
        else:
            scores = {k: raw[k] + bias.get(k, 0.0) for k in names}
        probs = _softmax({k: (-math.inf if fired and k in ("yes", "supports") else v) for k, v in scores.items()})
        best = max(probs, key=probs.__getitem__)
        if not yes_no:
            return Judgement(best, probs[best], None, None, fired, max(raw, key=raw.__getitem__))  # type: ignore[arg-type]
        wanted = _claim_side(question, claim)
        agreement = best if wanted is None or best == "neither" else ("yes" if best == wanted else "no")
        return Judgement(_FROM_SIDE[agreement], probs[best], best, probs[best], fired, max(raw, key=raw.__getitem__))  # type: ignore[arg-type]


def veto_reasons(question: str, claim: str, quote: str, article: str = "") -> list[str]:
    """Why ``quote`` cannot support the claim (or say yes), if it cannot: it never states a number that the
    question or the claim states ("1981" asked, "1982" quoted; "£61 million" claimed, "£48 million" quoted);
    or, given its ``article``'s title and text, the claim names someone or something that neither the
    question nor the article ever names (an invented "John Doe").

    >>> veto_reasons("Who replaced Yoran?", "Yoran was replaced by John Doe.", "Yoran left.", "Amit Yoran resigned.")
    ['the article never names John Doe']
    """
    absent = missing_numbers(f"{question} {claim}", quote)
    reasons = [f"the quote never states {', '.join(absent)}"] if absent else []
    if article and claim:
        invented = missing_names(f"x {claim}", f"{question} {quote} {article}")
        reasons += [f"the article never names {', '.join(invented)}"] if invented else []
    return reasons


DEFAULT_CALIBRATION = Calibration()  # the model's raw argmax; pass load_calibration(...) for the fitted one


CALIBRATION = Path(__file__).with_name("judge_calibration.json")
SUPPORT_SET = Path(__file__).resolve().parents[1] / "eval" / "support" / "triples.jsonl"  # its calib split is fitted on
_PROBES = (("Who builds the barrier?", "Acme builds the barrier in 2025.", "Acme Ltd said it builds the Harwick barrier."),
           ("Did Russia call Iran an ally?", "", "Ryabkov said Russia and Iran are not allies in Syria."))


def fit_digest(calib: Sequence[str]) -> str:
    """A hash of everything a calibration is fitted on: the instruction prefix, the task text and the features as they
    come out for two probes (a wh and a yes/no question: a change to the prompt or to a code signal shows), the model
    file's sha256 and the calib triples' lines (``calib_lines``). ``bench/judge.py`` records it as ``fitted_on``.

    >>> len(fit_digest(['{"id": "x"}'])), fit_digest([]) == fit_digest(['{"id": "x"}'])
    (16, False)
    """
    parts = [PREFIX, EXPECTED_SHA256, *calib]
    for question, claim, quote in _PROBES:
        raw = {"a": -0.5, "b": -2.0, "c": -3.0}
        parts += [task_text(question, claim, quote), json.dumps([round(v, 6) for v in features(question, claim, quote, raw)])]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def calib_lines(path: Path = SUPPORT_SET) -> list[str]:
    """The calib split's lines of ``eval/support/triples.jsonl``, as stored (what ``bench/judge.py`` fits on)."""
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and json.loads(line)["split"] == "calib"]


@dataclass(frozen=True)
class Fit:
    """Whether a calibration file was fitted on today's inputs: its ``recorded`` ``fitted_on`` against ``now``
    (``now`` None: the calib split is not there to hash, so nothing can be verified)."""

    path: Path
    recorded: str | None
    now: str | None

    @property
    def ok(self) -> bool:
        return self.recorded is not None and self.recorded == self.now


def fit_check(path: str | Path = CALIBRATION) -> Fit:
    """``path``'s recorded ``fitted_on`` and the hash of today's inputs (``briefqa doctor`` reports it)."""
    recorded = json.loads(Path(path).read_text(encoding="utf-8")).get("fitted_on")
    return Fit(Path(path), recorded, fit_digest(calib_lines()) if SUPPORT_SET.exists() else None)


def load_calibration(path: str | Path = CALIBRATION) -> Calibration | None:
    """The fitted calibration when it was fitted on today's inputs (``fit_check``), else None: the judge then uses the
    model's raw argmax, and ``briefqa doctor`` says why."""
    fit = fit_check(path)
    if not fit.ok:
        logging.getLogger(__name__).warning("judge calibration %s not used: fitted on %s, today's inputs hash to %s",
                                            fit.path.name, fit.recorded, fit.now)
        return None
    return read_calibration(path)


def read_calibration(path: str | Path) -> Calibration:
    """A calibration written by ``bench/judge.py`` (``dataclasses.asdict``), unchecked (``load_calibration`` checks)."""
    d = json.loads(Path(path).read_text(encoding="utf-8"))
    rows = {k: tuple(tuple(r) for r in d[k]) if d.get(k) else None for k in ("support_weights", "side_weights")}
    return Calibration(d.get("support", {}), d.get("side", {}), rows["support_weights"], rows["side_weights"])


def fit_calibration(items: Sequence[tuple[Mapping[str, float], str]], labels: Sequence[str], *, step: float = 0.25,
                    span: float = 4.0) -> dict[str, float]:
    """Per-label biases (the first label's fixed at 0) maximising accuracy on ``items`` of (raw log-probs,
    gold label): a grid search, ties broken towards small biases. Use the calib split only."""
    grid = [round(-span + i * step, 4) for i in range(int(2 * span / step) + 1)]
    rows = np.array([[raw[label] for label in labels] for raw, _ in items])
    gold = np.array([labels.index(g) for _, g in items])
    best: tuple[float, float, dict[str, float]] = (-1.0, 0.0, {label: 0.0 for label in labels})
    for b1 in grid:
        for b2 in grid:
            bias = np.array([0.0, b1, b2][: len(labels)])
            acc = float(((rows + bias).argmax(axis=1) == gold).mean())
            cost = -(abs(b1) + abs(b2))
            if (acc, cost) > best[:2]:
                best = (acc, cost, dict(zip(labels, bias.tolist())))
    return best[2]


_STOP = frozenset("the a an of in on at to for and or by is are was were be been will would has have had it its he she they "
                  "that this with from as said says not no".split())
_CONDITIONAL = frozenset("if unless could may might until whether possibility possible decide decided".split())


def features(question: str, claim: str, quote: str, raw: Mapping[str, float]) -> list[float]:
    """The model's log-probabilities (normalised over the task's labels) and code signals, then a 1 (bias)."""
    lp = np.array(list(raw.values()), dtype=float)
    lp = lp - np.logaddexp.reduce(lp)
    qw, cw, tw = _content(question), _content(claim), _content(quote)
    person = profile_of(question).speaker or _said_by(claim)
    stance = stance_of(question, quote)
    return [*lp.tolist(),
            float(bool(missing_numbers(f"{question} {claim}", quote))),
            float(bool(missing_names(question, quote))),
            float(bool(claim and missing_names(f"x {claim}", quote))),
            float(bool(person and person.split()[-1].lower() not in quote.lower())),
            len(cw & tw) / max(1, len(cw)), len(qw & tw) / max(1, len(qw)),
            float(stance == "yes"), float(stance == "no"),
            float(bool(_CONDITIONAL & set(re.findall(r"[a-z]+", quote.lower())))), 1.0]


def fit_weights(rows: Sequence[Sequence[float]], gold: Sequence[int], n_labels: int, *, l2: float = 0.1,
                steps: int = 3000, lr: float = 0.5) -> tuple[tuple[float, ...], ...]:
    """Multinomial logistic regression (full-batch gradient descent, L2 on all but the bias column)."""
    x, y = np.array(rows, dtype=float), np.eye(n_labels)[list(gold)]
    w = np.zeros((n_labels, x.shape[1]))
    mask = np.ones_like(w)
    mask[:, -1] = 0.0
    for _ in range(steps):
        z = x @ w.T
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        w -= lr * (((p - y).T @ x) / len(x) + l2 * w * mask)
    return tuple(tuple(round(float(v), 4) for v in row) for row in w)


def _content(text: str) -> set[str]:
    words = (w.strip(".,") for w in re.findall(r"[\w£%.,-]+", text.lower().replace("’", "'")))
    return {w[:5] for w in words if w not in _STOP and len(w) > 1}


def _said_by(claim: str) -> str | None:
    """The speaker an answer sentence names ("Sophos said …", "Blair said: …")."""
    m = re.match(r"\s*([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)*)\s+(?:said|says|called|branded|told)\b", claim)
    return m.group(1) if m else None


def _claim_side(question: str, claim: str) -> Side | None:
    """The side an answer sentence takes on a yes/no question ("No, …" → no); ``None`` for an empty claim."""
    words = re.findall(r"[\w']+", claim.lower())
    if not words:
        return None
    if words[0] in {"yes", "no"}:
        return "yes" if words[0] == "yes" else "no"
    stance = stance_of(question, claim)
    return "no" if stance == "no" else "yes"


def _softmax(scores: Mapping[str, float]) -> dict[str, float]:
    z = np.array(list(scores.values()), dtype=float)
    return dict(zip(scores, np.exp(z - np.logaddexp.reduce(z)).tolist()))
