"""Benchmark: the built-in reply classifier (``outreach.replies.classify``) on the labelled
replies under ``tests/replies/data``: accuracy and a confusion matrix on the set its rules
were written from (``tuning.jsonl``) and on the held-out set written apart from them
(``held_out.jsonl``), and the replies it got wrong.

    .venv/bin/python bench/classifier_accuracy.py [--wrong]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "replies" / "data"
sys.path.insert(0, str(ROOT / "src"))

from outreach.models import ReplyIntent  # noqa: E402
from outreach.replies.classify import CLASSIFIER, classify  # noqa: E402

SHORT = {
    i: i.value.replace("not_interested", "no").replace("out_of_office", "ooo")[:8]
    for i in ReplyIntent
}


def load(name: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]


def report(name: str, rows: list[dict[str, str]], *, wrong: bool) -> float:
    pairs = [(ReplyIntent(r["intent"]), classify(r["text"]).intent, r) for r in rows]
    right = sum(1 for want, got, _ in pairs if want == got)
    accuracy = right / len(pairs)
    print(f"\n{name}: {len(pairs)} replies, accuracy {accuracy:.1%} ({right}/{len(pairs)})")
    cells = Counter((want, got) for want, got, _ in pairs)
    intents = list(ReplyIntent)
    print("  labelled \\ classified " + " ".join(f"{SHORT[i]:>8}" for i in intents))
    for want in intents:
        line = " ".join(f"{cells[want, got] or '.':>8}" for got in intents)
        print(f"  {want.value:21} {line}")
    per_language = Counter(r["lang"] for _, _, r in pairs)
    good = Counter(r["lang"] for want, got, r in pairs if want == got)
    print(
        "  per language: " + ", ".join(f"{k} {good[k]}/{n}" for k, n in per_language.most_common())
    )
    if wrong:
        for want, got, r in pairs:
            if want != got:
                print(f"    {want.value:>14} -> {got.value:<14} {r['text'][:90]}")
    return accuracy


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wrong", action="store_true", help="list the replies it got wrong")
    args = parser.parse_args()
    print(f"classifier {CLASSIFIER}")
    tuning = report(
        "tuning set (the rules were written from it)", load("tuning.jsonl"), wrong=args.wrong
    )
    held = report(
        "held-out set (written apart from the rules)", load("held_out.jsonl"), wrong=args.wrong
    )
    print(f"\nclassifier_accuracy tuning={tuning:.3f} held_out={held:.3f}")


if __name__ == "__main__":
    main()
