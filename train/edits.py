"""Edits made by code on real news sentences, each with a known effect on the label (FactCC-style).

Every function returns ``None`` when it cannot make its edit; a returned text always differs from its input.

>>> strip_attribution("The plant will stay open, the company said.")
('The plant will stay open.', 'the company')
>>> negate("The plant will stay open.")
'The plant will not stay open.'
>>> affirm("Russia and Iran are not allies.")
'Russia and Iran are allies.'
>>> yes_no_question("The plant will stay open until 2006.")
'Will the plant stay open until 2006?'
>>> hedge("The plant will stay open.")
'The plant could stay open.'
"""

from __future__ import annotations

import random
import re

AUX = ("is", "are", "was", "were", "will", "would", "can", "could", "has", "have", "had", "should", "must", "does", "do", "did")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PLACES = ("London", "Paris", "Berlin", "Moscow", "Washington", "New York", "Tokyo", "Beijing", "Madrid", "Rome",
          "Brussels", "Scotland", "Wales", "Ireland", "France", "Germany", "Spain", "Italy", "Japan", "China", "India",
          "Russia", "Iraq", "Iran", "Australia", "Canada", "Brazil", "Manchester", "Liverpool", "Edinburgh", "Glasgow",
          "Dublin", "Europe", "Africa", "Asia", "America", "US", "UK")
# a detail and its neighbour: a claim or question about one is not answered by a sentence about the other
NEIGHBOURS = (("profit", "revenue"), ("profits", "sales"), ("salary", "bonus"), ("shares", "bonds"),
              ("exports", "imports"), ("sales", "profits"), ("revenue", "profit"), ("bonus", "salary"),
              ("jobs", "stores"), ("workers", "managers"), ("price", "cost"), ("fine", "damages"),
              ("votes", "seats"), ("goals", "points"), ("deficit", "debt"), ("debt", "deficit"),
              ("growth", "inflation"), ("inflation", "growth"), ("imports", "exports"), ("wins", "defeats"),
              ("album", "single"), ("film", "series"), ("users", "subscribers"), ("subscribers", "users"),
              ("budget", "deficit"), ("tax", "spending"), ("spending", "tax"), ("buyers", "sellers"))
NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*")
YEAR = re.compile(r"\b(19[5-9]\d|20[0-3]\d)\b")
_SAY = r"(?:said|says|added|told [\w ]{2,30}?|warned|claimed|insisted|argued|explained|stressed)"
_TAIL = re.compile(rf",?\s*[\"”']?,?\s+(?P<who>(?:he|she|they|it|(?:the |a )?[A-Za-z][\w .'’-]{{0,50}}?))\s+{_SAY}\.?$")
_TAIL_INV = re.compile(rf",?\s*[\"”']?,?\s+{_SAY}\s+(?P<who>[A-Za-z][\w .'’-]{{0,50}}?)\.?$")
_HEAD = re.compile(rf"^(?P<who>[A-Z][\w .'’-]{{0,50}}?)\s+(?:said|says|claimed|warned|insisted|added)\s+(?:that\s+)?")
_NEGATED = re.compile(r"\b(" + "|".join(AUX) + r")\s+not\b|\b(won't|can't|cannot|isn't|aren't|wasn't|weren't|hasn't|"
                      r"haven't|hadn't|doesn't|don't|didn't|wouldn't|couldn't|shouldn't)\b", re.I)
_CONTRACTIONS = {"won't": "will", "can't": "can", "cannot": "can", "isn't": "is", "aren't": "are", "wasn't": "was",
                 "weren't": "were", "hasn't": "has", "haven't": "have", "hadn't": "had", "doesn't": "does",
                 "don't": "do", "didn't": "did", "wouldn't": "would", "couldn't": "could", "shouldn't": "should"}
_HEDGES = {"will": "could", "is": "may be", "are": "may be", "has": "may have", "have": "may have", "was": "may have been"}


def _tidy(text: str) -> str:
    text = re.sub(r"[\"“”]", "", text).strip()
    text = re.sub(r"\s+", " ", text).strip(" ,;:-")
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".") if text else text


def strip_attribution(sentence: str) -> tuple[str, str | None]:
    """The sentence without "X said" (at its end or start) and quotation marks, and the speaker it named."""
    s = sentence.strip().rstrip(".")
    for pattern in (_TAIL, _TAIL_INV):
        m = pattern.search(s)
        if m and len(s[: m.start()].split()) >= 4:
            return _tidy(s[: m.start()]), m.group("who").strip()
    m = _HEAD.match(s)
    if m and len(s[m.end():].split()) >= 4 and m.group("who").split()[0] not in ("It", "This", "There"):
        return _tidy(s[m.end():]), m.group("who").strip()
    return _tidy(s), None


def _aux_match(sentence: str) -> re.Match[str] | None:
    return re.search(r"\b(" + "|".join(AUX) + r")\b(?!\s+not\b)(?!\s+n't)", sentence)


_SUBORDINATE = re.compile(r"[,;:()\"“”]|\b(?i:who|which|that|whose|whom|where|when|if|after|before|because|although|though|"
                          r"while|since|as|unless|until|once)\b")


def negate(sentence: str) -> str | None:
    """Insert "not" after the first auxiliary ("will stay" → "will not stay"); ``None`` if already negated, or if
    that auxiliary may sit in a clause of its own ("The Bravery, who have been compared …, were …"): negating a
    side clause would leave the sentence's statement as it was, and its label wrong.

    >>> negate("The Bravery, who have been compared to The Cure, were tipped.") is None
    True
    """
    m = _aux_match(sentence)
    if not m or _NEGATED.search(sentence) or m.start() == 0 or _SUBORDINATE.search(sentence[: m.start()].lstrip("\"“‘' ")):
        return None
    return sentence[: m.end()] + " not" + sentence[m.end():]


def affirm(sentence: str) -> str | None:
    """Remove the first negation ("are not allies" → "are allies", "won't" → "will"); ``None`` if none."""
    m = _NEGATED.search(sentence)
    if not m:
        return None
    if m.group(1):
        return sentence[: m.start()] + m.group(1) + sentence[m.end():]
    word = m.group(2)
    repl = _CONTRACTIONS[word.lower()]
    return sentence[: m.start()] + (repl.capitalize() if word[0].isupper() else repl) + sentence[m.end():]


def hedge(sentence: str) -> str | None:
    """Turn a definite statement into a possibility ("will stay" → "could stay")."""
    m = re.search(r"\b(will|is|are|has|have)\b(?!\s+not)", sentence)
    if not m or m.start() == 0:
        return None
    return sentence[: m.start()] + _HEDGES[m.group(1)] + sentence[m.end():]


def yes_no_question(sentence: str) -> str | None:
    """Invert a short subject and its auxiliary ("The plant will stay open." → "Will the plant stay open?")."""
    text = sentence.strip().rstrip(".!")
    m = _aux_match(text)
    head = text[: m.start()] if m else ""
    if not m or not 1 <= len(head.split()) <= 7 or re.search(r"[,\"“”']|\b(?i:if|when|but|and|as)\b", head) or len(text.split()) > 30:
        return None
    subject, rest = text[: m.start()].strip(), text[m.end():].strip()
    if not rest or _NEGATED.search(text):
        return None
    subject = subject if re.match(r"[A-Z][a-z]*[A-Z]|[A-Z]{2}|[A-Z][a-z]+ [A-Z]", subject) else subject[0].lower() + subject[1:]
    return f"{m.group(1).capitalize()} {subject} {rest}?"


def change_number(text: str, rng: random.Random, others: list[str]) -> str | None:
    """Replace one number (not a year) with another: a different number of the article, or a nearby value."""
    found = [m for m in NUMBER.finditer(text) if not YEAR.fullmatch(m.group())]
    if not found:
        return None
    m = rng.choice(found)
    value = m.group()
    pool = [o for o in others if o != value and not YEAR.fullmatch(o) and o not in text]
    if pool and rng.random() < 0.5:
        new = rng.choice(pool)
    else:
        digits = value.replace(",", "")
        if digits.count(".") > 1:  # a version ("4.7.1"), not a quantity
            return None
        base = float(digits)
        factor = rng.choice([2, 3, 0.5, 1.5, 10]) if base > 3 else rng.choice([2, 3, 4])
        new_val = base * factor if "." in digits else int(round(base * factor)) or int(base) + 1
        new = f"{new_val:,}" if "," in value else str(new_val)
    return None if new == value else text[: m.start()] + new + text[m.end():]


def change_year(text: str, rng: random.Random) -> str | None:
    """Move one year by 1 to 5."""
    found = list(YEAR.finditer(text))
    if not found:
        return None
    m = rng.choice(found)
    new = str(int(m.group()) + rng.choice([-3, -2, -1, 1, 2, 5]))
    return text[: m.start()] + new + text[m.end():]


def change_word(text: str, words: tuple[str, ...], rng: random.Random) -> str | None:
    """Swap one month, day or place of ``words`` for another of them."""
    found = [m for m in re.finditer(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", text)]
    if not found:
        return None
    m = rng.choice(found)
    new = rng.choice([w for w in words if w != m.group() and w not in text])
    return text[: m.start()] + new + text[m.end():]


def change_name(text: str, names: list[str], rng: random.Random) -> str | None:
    """Swap a person's name of the text for another person the article names."""
    inside = [n for n in names if n in text]
    outside = [n for n in names if n not in text and not any(part in text for part in n.split())]
    if not inside or not outside:
        return None
    return text.replace(rng.choice(inside), rng.choice(outside))


def neighbour(text: str, rng: random.Random) -> tuple[str, str] | None:
    """Re-target the text to a neighbouring detail the original does not state (profit → revenue)."""
    lowered = text.lower()
    options = [(a, b) for a, b in NEIGHBOURS if re.search(rf"\b{a}\b", lowered) and b not in lowered]
    if not options:
        return None
    a, b = rng.choice(options)
    return re.sub(rf"\b{a}\b", lambda m: b.capitalize() if m.group()[0].isupper() else b, text, count=1, flags=re.I), b


def person_names(text: str) -> list[str]:
    """Two- or three-word capitalised runs that look like people ("Scott Sullivan"), and "Mr X" surnames."""
    runs = re.findall(r"\b([A-Z][a-z]+(?:\s[A-Z][a-z'’-]+){1,2})\b", text)
    bad = set(MONTHS) | set(DAYS) | set(PLACES) | {"The", "But", "In", "He", "She", "It", "Mr", "Mrs", "Ms", "Dr"}
    return sorted({r for r in runs if not bad & set(r.split())})


def expand_names(claim: str, article: str) -> str:
    """"Mr Sullivan" → "Scott Sullivan" where the article gives the full name."""
    def full(m: re.Match[str]) -> str:
        found = re.search(rf"\b([A-Z][a-z]+) {re.escape(m.group(2))}\b", article.replace(m.group(0), ""))
        return f"{found.group(1)} {m.group(2)}" if found and found.group(1) not in ("Mr", "Mrs", "Ms", "Dr") else m.group(0)
    return re.sub(r"\b(Mr|Mrs|Ms|Dr)\.? ([A-Z][a-z'’-]+)", full, claim)
