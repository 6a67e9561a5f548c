"""The local model proposes, code keeps what it can check: questions and paraphrased answers for real sentences.

For each sampled sentence of a training article the local Qwen2.5-Coder-1.5B writes, as JSON: a question the
sentence answers, the answer in other words, a yes/no question it answers "yes", and a question about a
neighbouring detail it does not give (kept in the raw file, not used: the audit found most of them answered by the
sentence after all). ``train/make_data.py`` keeps a proposal only where code can check it: its numbers and names are
the sentence's, its other words (nearly all) the sentence's or the headline's. Output:
``train/data/llm_raw.jsonl``, one line per sentence, appended; a rerun skips the sentences already done.

    python train/llm_gen.py --limit 1500           # resumable; progress on stdout

>>> _first_json('x {"a": 1} y')
{'a': 1}
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from train.corpus import training_articles  # noqa: E402
from train.sentences import article_sentences  # noqa: E402

OUT = Path(__file__).resolve().parent / "data" / "llm_raw.jsonl"
SEED = 13

_SYSTEM = (
    "You write test items about one sentence from a news article. Reply with one JSON object with four keys:\n"
    '"question": a question a reader would ask that the sentence answers;\n'
    '"answer": a short answer to that question in your own words, keeping the exact names, numbers and dates;\n'
    '"yes_question": a yes/no question that the sentence answers with yes;\n'
    '"other_question": a question about a related detail that the sentence does NOT give '
    "(profit instead of sales, a bonus instead of a salary, what another person said, another year).\n"
    "Example:\nHeadline: Shell boss gets payoff\nSentence: Shell is to pay $1m to the ex-finance chief who stepped "
    "down from her post in April 2004, the firm said.\n"
    '{"question": "How much will Shell pay its former finance chief?", "answer": "Shell will pay its former finance '
    'chief $1m.", "yes_question": "Is Shell paying its ex-finance chief $1m?", "other_question": "What pension will '
    'the former finance chief receive?"}'
)


def _first_json(text: str) -> dict[str, str] | None:
    start, end = text.find("{"), text.rfind("}")
    try:
        value = json.loads(text[start : end + 1]) if start >= 0 < end else None
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def sampled(limit: int, seed: int = SEED) -> list[tuple[str, str, str]]:
    """``(id, headline, sentence)`` for up to ``limit`` sentences, at most 3 per article, in a seeded order."""
    rng = random.Random(seed)
    rows = []
    for art in training_articles():
        sents = [s for s in article_sentences(art.body) if 8 <= len(s.split()) <= 45]
        for i, s in enumerate(rng.sample(sents, min(3, len(sents)))):
            rows.append((f"{art.path}#{i}", art.title, s))
    rng.shuffle(rows)
    return rows[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=1500)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    from core.settings import Settings
    from qa.generators.llama_cpp import import_llama_cpp
    from qa.model_files import local_model_path

    llama = import_llama_cpp().Llama(model_path=str(local_model_path(Settings())), n_ctx=1024, n_threads=2,
                                     verbose=False, seed=SEED)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = {json.loads(line)["id"] for line in args.out.open()} if args.out.exists() else set()
    todo = [row for row in sampled(args.limit) if row[0] not in done]
    t0 = time.time()
    with args.out.open("a", encoding="utf-8") as out:
        for k, (sid, title, sentence) in enumerate(todo, 1):
            reply = llama.create_chat_completion(
                messages=[{"role": "system", "content": _SYSTEM},
                          {"role": "user", "content": f"Headline: {title}\nSentence: {sentence}"}],
                temperature=0.0, max_tokens=140)
            text = reply["choices"][0]["message"]["content"] or ""
            out.write(json.dumps({"id": sid, "title": title, "sentence": sentence, "proposal": _first_json(text)}) + "\n")
            out.flush()
            if k % 20 == 0:
                print(f"{k}/{len(todo)} {(time.time() - t0) / k:.2f} s each", flush=True)


if __name__ == "__main__":
    main()
