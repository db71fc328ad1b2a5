"""How often each near-miss check of ``chatbot.policy`` refuses a lead the thresholds would answer.

    python -m evals.near_misses     # reads the features python -m evals.fit cached (computes them if stale)

A check written from failures seen on one corpus must not refuse right answers on others. For the
bundled set, the SQuAD fit half and the held-out sample, every question whose lead sentence the
shipped chooser's thresholds would answer is put to ``policy.unanswered_part`` (and, failing that,
to ``policy.unnamed_in`` against its whole document, as the fit recorded it) and, when a check
refuses it, counted under that check: right answers lost, wrong answers and unanswerable questions
caught.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from chatbot import chooser as ch
from chatbot import policy
from chatbot.question import analyse
from evals.fit import ROOT, Decision, Rows, answered, best_per_question, fitted_rows
from ragchat.settings import Settings


def tally(model: ch.Chooser, rows: Rows, decision: Decision, questions: dict[str, str]) -> dict[str, Counter]:
    """Per check (its reason's first words, before any quoted words or figures), the leads it
    refuses: "right", "wrong", "unanswerable"."""
    best = best_per_question(model, rows)
    # answered by the thresholds, whatever the near-miss checks (the ones counted here) would say
    reached = answered(dataclasses.replace(best, gap=np.zeros_like(best.gap)), rows, decision)
    found: dict[str, Counter] = defaultdict(Counter)
    for q in np.flatnonzero(reached):
        reason = policy.unanswered_part(analyse(questions[rows.ids[q]]), [str(rows.texts[best.lead[q]])])
        if not reason and rows.checks[best.lead[q], 2]:  # policy.unnamed_in, against the lead's whole document
            reason = "its document lacks a name asked"
        if reason:
            outcome = "unanswerable" if not rows.answerable[q] else "right" if best.right[q] else "wrong"
            found[" ".join(re.split(r'["\d]', reason)[0].split()[:4])][outcome] += 1
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.near_misses", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "evals" / "out" / "fit", help="where evals.fit keeps its caches")
    args = parser.parse_args(argv)
    model = ch.Chooser.load(Settings().compose.chooser_file)
    decision = Decision(model.answer_threshold, model.strength_threshold)
    bundled, squad_fit, squad_held, texts = fitted_rows(args.out)
    print(f"thresholds {decision.probability:.3f} / {decision.strength:.2f}; leads each check refuses:")
    for name, rows in (("bundled", bundled), ("squad fit half", squad_fit), ("squad held-out sample", squad_held)):
        print(f"{name} ({len(rows.ids)} questions, {int(np.sum(~rows.answerable))} unanswerable)")
        for check, counts in sorted(tally(model, rows, decision, texts).items()):
            print(f"  {check:32} right {counts['right']:3}  wrong {counts['wrong']:3}  unanswerable {counts['unanswerable']:3}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
