"""Rule-based speaker attribution: who says each sentence of an article (pure ``re``).

``attribute(text, sentences)`` returns one ``Speaker | None`` per sentence; None is the
article's own voice. Rules, in sentence order (the first speech verb with a valid speaker wins;
verbs inside quotation marks are ignored):

* Speech verbs: said/says/say, added, told, answered, replied, stressed, noted, argued, warned,
  insisted, explained, claimed, denied, announced, wrote, asked, confirmed, ... (past and present).
* Subject patterns: ``NAME said``, ``NAME has/had/also said``, ``NAME told X``,
  ``NAME, the ..., said``, ``"...," NAME said``; inversion ``"...," said NAME``;
  right-hand patterns ``according to NAME`` and ``X quoted him/NAME as (having) said``
  (the speaker is the one quoted, never the quoting outlet).
* NAME is a run of capitalised words (hyphens, apostrophes, particles bin/al-/van/de ...).
  "Mr/Mrs/Ms/Miss" are stripped; Dr/Prof/Sir/Lord/Lady/Dame stay part of the name; office
  titles before the name (President, Deputy Foreign Minister, ...) become the role.
* Non-persons are None: runs led by a determiner ("The Law Lords", "the Pro-Life Alliance"),
  organisation words (Association, Party, Office ...), acronyms (CNN), collectives ("Iran and
  Syria"), names after a preposition ("a spokesman for Mr Blair said"), and single
  capitalised words that are neither titled ("Mr Straw", "President Putin") nor the surname
  of a fuller name in the article ("Russia said", "Israel has said" -> None).
* Surnames resolve to the fullest name the article gives ("Mr Straw" -> "Jack Straw").
* he/she/him/her -> the nearest preceding speaker, else the nearest preceding non-possessive
  person mention.
* A sentence opening with a quotation and having no unquoted speech verb inherits the previous
  sentence's speaker (kind "direct"). Participles ("adding that", "spoke about") never attribute.
* Role (from the first mention that has one): appositive ("X, the head of ...,") else pre-modifier
  ("Russia's Deputy Foreign Minister X" -> "Deputy Foreign Minister"; possessives are dropped,
  adjectives such as "Russian" kept; "ambassador to Tehran X" -> "ambassador to Tehran").
* kind is "direct" when the sentence contains a quotation, else "reported".

>>> from index.sentences import sentences_of
>>> text = 'Foreign Secretary Jack Straw spoke. "We will win," Mr Straw said. He left.'
>>> [s and (s.name, s.role, s.kind) for s in attribute(text, sentences_of("a", text))]
[None, ('Jack Straw', 'Foreign Secretary', 'direct'), None]
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from index.records import Sentence


@dataclass(frozen=True)
class Speaker:
    name: str  # full name as the article gives it, e.g. "Sergei Ryabkov"
    role: str | None  # e.g. "Deputy Foreign Minister" when the article says
    kind: str  # "direct" (sentence quotes the speaker) or "reported"


def _words(s: str) -> frozenset[str]:
    return frozenset(s.split())


_STRIP_HON = _words("mr mrs ms miss mister")
_KEEP_HON = _words("dr prof professor sir dame lord lady baroness baron")
_HON = _STRIP_HON | _KEEP_HON
_TITLES = _words(
    """president minister secretary ambassador envoy leader spokesman spokeswoman spokesperson
    chairman chairwoman chair chief head director commissioner governor general chancellor mayor
    premier officer executive manager founder editor analyst correspondent representative deputy
    adviser advisor coach captain boss senator sen rep gov judge economist official lawyer mp mep
    commander prosecutor king queen prince princess pope cardinal archbishop bishop ayatollah
    sheikh reverend rev colonel col gen lt sgt capt speaker vice-president secretary-general
    attorney treasurer whip candidate inspector superintendent doctor comptroller sheriff
    councillor justice democrat dem republican tory"""
)
_MODIFIERS = _TITLES | _words(
    """foreign home shadow former vice senior prime acting assistant special interior defence
    defense finance health education trade state justice culture environment transport energy
    economic labour party managing national junior first opposition government club team
    political military top regional"""
)
_DETS = _words("the a an this that these those its their his her our my your")
_PREPS = _words("for of by with from to against about on at than like and or in into over under between among")
_STOP = _DETS | _words(
    """it there then but however and or so yet in on at for from with by after before during
    while when where as if although though since until also meanwhile now today yesterday
    tomorrow last next he she they we i you speaking asked according despite earlier later
    following not no both all some many monday tuesday wednesday thursday friday saturday sunday
    january february march april may june july august september october november december"""
)
_NON_PERSON = _words(
    """office party bank street association council committee commission ministry department
    government union court house agency group alliance institute university college school
    company corporation corp authority board service services police army navy forces force
    corps news times post journal telegraph guardian organisation organization federation league
    club fund foundation trust society lords commons parliament congress senate assembly inc ltd
    plc airlines airways network centre center channel radio television tv press cabinet
    administration embassy programme korea arabia states kingdom york zealand africa america
    kong lanka aviv nations emirates republic motors labs laboratory championships cup research
    records action"""
)
_SAY = """said says say added adds told tells answered answers replied replies stressed stresses
    noted notes argued argues warned warns insisted insists explained explains claimed claims
    denied denies announced announces wrote writes asked asks confirmed confirms admitted admits
    declared declares commented remarked continued recalled suggested"""
_AUX = """has have had also later then previously earlier again once repeatedly recently reportedly
    subsequently further publicly privately always often would will could did does never simply
    just himself herself"""

_TOKEN = r"(?:(?:al|el)-)?[A-ZÀ-ÖØ-Þ](?:\.|[^\W\d_]*(?:[-'’](?!s\b)[^\W\d_]+)*)"
_PARTICLE = r"(?:bin|bint|ibn|al|el|van|von|de|da|di|du|del|della|der|den|la|le|dos|das|ter)"
_RUN = rf"(?<![\w'’.-]){_TOKEN}(?:[ \t]+(?:{_PARTICLE}[ \t]+)*{_TOKEN})*"
_PRON = r"(?<![\w'’-])(?P<pron>[Hh]e|[Ss]he)\b"
_OBJ_PRON = r"(?<![\w'’-])(?P<pron>he|she|him|her)\b"
_AUXES = rf"(?:(?:{'|'.join(_AUX.split())})[ \t]+)*"
_SAY_ALT = "|".join(_SAY.split())
_RUN_RE = re.compile(_RUN)
_VERB_RE = re.compile(
    rf"\b(?:(?P<say>{'|'.join(_SAY.split())})|(?P<acc>according to)|(?P<quoted>quoted))\b"
)
_LEFT_RE = re.compile(rf"(?:{_PRON}|(?P<run>{_RUN})),?[ \t]+{_AUXES}$")
_LEFT_APPOS_RE = re.compile(rf"(?P<run>{_RUN}),[^,;:\"“”()\n]{{2,150}},[ \t]+{_AUXES}$")
_MODS = "|".join(sorted(_MODIFIERS))
_RIGHT_RE = re.compile(  # "said Hopman Cup doctor Hamish Osborne": skip role words to the name
    rf"[ \t]+(?:{_OBJ_PRON}|(?:(?:the|a|an|[A-Z][\w-]*|{_MODS})[ \t]+){{0,5}}?(?P<run>{_RUN})"
    rf"(?![\w'’-]|[ \t]+(?:[A-ZÀ-Þ]|(?:{_MODS})\b)))"
)
_AS_RE = re.compile(r"[ \t]+as\b")
_QUOTE_RE = re.compile(r'["“«][^"“”«»\n]*["”»]')
_APPOS_RE = re.compile(
    rf",[ \t]+(?P<det>(?:the|a|an)[ \t]+)?(?P<role>[^,;:\"“”()\n.]{{2,120}}?)"
    rf"(?=[ \t]*(?:,|[.;:!?](?:\s|$)|$)|[ \t]+(?:{'|'.join(_SAY.split())}|spoke|who|which)\b)"
)
_PREV_WORD_RE = re.compile(r"(\S+)[ \t]+$")
_ALPHA_RE = re.compile(r"[A-Za-z-]+")
_OPEN_QUOTES = "\"“«"


@dataclass(frozen=True)
class _Mention:
    start: int
    toks: tuple[str, ...]  # the name as written, honorifics Mr/Mrs/Ms removed
    role: str | None
    titled: bool  # an honorific, office title or role word marks it as a person
    prep_split: bool  # "ambassador to Tehran X Y": the preposition belongs to the role
    possessive: bool
    core: tuple[str, ...]  # lower-cased, without Dr/Sir/Lord...: the key for surname matching


def _low(tok: str) -> str:
    return tok.rstrip(".").lower()


def _prev_word(text: str, pos: int) -> tuple[str, int]:
    m = _PREV_WORD_RE.search(text, max(0, pos - 40), pos)
    return (m.group(1), m.start(1)) if m else ("", pos)


def _premod(text: str, pos: int, need_head: bool) -> list[str]:
    """Role words just before ``pos`` ("British foreign minister"), nearest last."""
    words: list[str] = []
    window = text[max(0, pos - 80) : pos].rsplit("\n", 1)[-1].split()
    for w in reversed(window[-3:]):
        low = w.lower()
        if not _ALPHA_RE.fullmatch(w) or low in _STOP or low in _PREPS:
            break
        if not (w[0].isupper() or low in _MODIFIERS) or (need_head and not words and low not in _TITLES):
            break
        words.append(w)
    return words[::-1]


def _parse(text: str, start: int, end: int) -> _Mention | None:
    toks = text[start:end].split()
    prev, prev_at = _prev_word(text, start)
    det = prev.lower() in _DETS
    while toks and _low(toks[0]) in _STOP:
        det = _low(toks.pop(0)) in _DETS or det
    hon = [i for i, t in enumerate(toks[:-1]) if _low(t) in _HON]
    if hon:
        h = hon[-1]
        role_toks, name = toks[:h], toks[h + 1 :] if _low(toks[h]) in _STRIP_HON else toks[h:]
    else:
        k = max((i for i, t in enumerate(toks[:-1]) if _low(t) in _TITLES), default=-1)
        role_toks, name = toks[: k + 1], toks[k + 1 :]
    role, prep_split = None, False
    head = _premod(text, prev_at, need_head=True) if prev.lower() in ("to", "of", "for", "in", "at") else []
    if head and not role_toks and not hon and len(name) >= 3:
        role, prep_split = " ".join(head + [prev] + name[:-2]), True
        name = name[-2:]
    elif role_toks:
        role = " ".join(_premod(text, start, need_head=False) + role_toks)
    else:
        role = " ".join(_premod(text, start, need_head=True)) or None
    appos = _APPOS_RE.match(text, end)
    if appos:
        words = appos.group("role").split()
        if (appos.group("det") or words[0].islower()) and any(w.lower() in _TITLES for w in words[:3]):
            role = role if any(ch.isdigit() for ch in appos.group("role")) else " ".join(words)
    titled = bool(hon or role)
    if not name or (det and not titled) or _low(name[-1]) in _NON_PERSON:
        return None
    if any(len(t) > 1 and t.isupper() for t in name) or any(_low(t) in _STOP for t in name):
        return None
    possessive = text[end : end + 2] in ("'s", "’s")
    core = tuple(t.lower() for t in name if _low(t) not in _KEEP_HON)
    return _Mention(start, tuple(name), role, titled, prep_split, possessive, core)


class _Registry:
    """Person mentions of one article: surname resolution, roles, pronoun fallback."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.mentions: list[_Mention] = []
        for m in _RUN_RE.finditer(text):
            if " " in m.group() or "\t" in m.group():
                p = _parse(text, m.start(), m.end())
                if p and (len(p.core) >= 2 or p.titled):
                    self.mentions.append(p)
        self.starts = [p.start for p in self.mentions]
        self.by_surname: dict[str, list[_Mention]] = {}
        self.roles: dict[tuple[str, ...], str] = {}
        self.fullest: dict[tuple[str, ...], _Mention] = {}  # memo for resolve()
        for p in self.mentions:
            if p.core:
                self.by_surname.setdefault(p.core[-1], []).append(p)
            if p.role:
                self.roles.setdefault(p.core, p.role)

    def resolve(self, p: _Mention) -> tuple[str, str | None] | None:
        """Fullest name and role for ``p``; None when ``p`` is not recognisably a person."""
        core, n = p.core, len(p.core)
        if not core:
            return None
        cands = [c for c in self.by_surname.get(core[-1], []) if len(c.core) >= 2 and c.core[-n:] == core]
        if not cands:
            return (" ".join(p.toks), self.roles.get(core) or p.role) if n >= 2 or p.titled else None
        anchor = next((c for c in reversed(cands) if c.start <= p.start), cands[0])
        if (best := self.fullest.get(anchor.core)) is None:
            fuller = (c for c in cands if c.core[-len(anchor.core) :] == anchor.core)
            best = self.fullest[anchor.core] = max(fuller, key=lambda c: len(c.toks))
        return " ".join(best.toks), self.roles.get(best.core) or p.role

    def person(self, m: re.Match[str], subject: bool) -> tuple[str, str | None] | None:
        """The person named by ``m``'s "run" group, if it can be a speaker."""
        p = _parse(self.text, m.start("run"), m.end("run"))
        if p is None or p.possessive:
            return None
        if subject and not p.prep_split and _prev_word(self.text, m.start("run"))[0].lower() in _PREPS:
            return None
        return self.resolve(p)

    def nearest(self, pos: int) -> tuple[str, str | None] | None:
        i = bisect.bisect_left(self.starts, pos)
        while i > 0:
            i -= 1
            if not self.mentions[i].possessive:
                return self.resolve(self.mentions[i])
        return None


def speech_by(person: str, text: str) -> bool:
    """Whether ``text`` has ``person``'s surname right beside a speech verb ("said Hewitt", "Mr Straw has
    said"): a statement by them even where quotation marks are unbalanced and ``attribute`` gives up.

    >>> speech_by("Lleyton Hewitt", '"It is no big deal," said Hewitt.'), speech_by("Steve Jobs", "Jobs hired him.")
    (True, False)
    """
    surname = re.escape(person.split()[-1])
    return bool(re.search(rf"\b(?:{_SAY_ALT})[ \t]+(?:(?:Mr|Mrs|Ms|Dr|Sir)\.?[ \t]+)?{surname}\b"
                          rf"|\b{surname}[ \t]+{_AUXES}(?:{_SAY_ALT})\b", text))


def attribute(text: str, sentences: Sequence[Sentence]) -> list[Speaker | None]:
    """One ``Speaker`` (or None for the article's own voice) per sentence of ``text``."""
    reg = _Registry(text)
    out: list[Speaker | None] = []
    last: Speaker | None = None
    for s in sentences:
        sp, has_verb = _attribute_sentence(reg, s.start, s.end, last)
        prev = out[-1] if out else None
        if not has_verb and prev and text[s.start : s.end].lstrip()[:1] in _OPEN_QUOTES:
            sp = replace(prev, kind="direct")
        out.append(sp)
        last = sp or last
    return out


def _attribute_sentence(reg: _Registry, a: int, b: int, last: Speaker | None) -> tuple[Speaker | None, bool]:
    """The speaker of ``text[a:b]``, and whether it has an unquoted speech verb at all."""
    text = reg.text
    has_verb = False
    quotes = [(q.start(), q.end()) for q in _QUOTE_RE.finditer(text, a, b)]
    kind = "direct" if quotes else "reported"
    for v in _VERB_RE.finditer(text, a, b):
        if any(qa < v.start() < qb for qa, qb in quotes):
            continue
        has_verb = True
        for who, subject in _candidates(text, v, a, b):
            if who.groupdict().get("pron"):
                found = (last.name, last.role) if last else reg.nearest(who.start())
            else:
                found = reg.person(who, subject)
            if found:
                return Speaker(found[0], found[1], kind), True
    return None, has_verb


def _candidates(text: str, v: re.Match[str], a: int, b: int) -> Iterator[tuple[re.Match[str], bool]]:
    """Possible speaker spans for speech verb ``v``, best first; the flag marks a subject."""
    if v.group("say"):
        lo = max(a, v.start() - 250)
        for rx in (_LEFT_RE, _LEFT_APPOS_RE):
            if m := rx.search(text, lo, v.start()):
                yield m, True
        if text[a : v.start()].rstrip()[-1:] in (",", '"', "”", "»"):
            if m := _RIGHT_RE.match(text, v.end(), b):
                yield m, False
    elif m := _RIGHT_RE.match(text, v.end(), b):
        if not v.group("quoted") or _AS_RE.match(text, m.end(), b):
            yield m, False
