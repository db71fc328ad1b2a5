"""How often each near-miss check of ``chatbot.policy`` refuses a lead the thresholds would answer.

    python -m evals.near_misses     # reads the features python -m evals.fit cached (computes them if stale)

A check written from failures seen on one corpus must not refuse right answers on others. For the
bundled set, the SQuAD fit half and the held-out sample, every question whose lead sentence the
shipped chooser's thresholds would answer is put to ``policy.unanswered_part`` and, when a check
refuses it, counted under that check: right answers lost, wrong answers and unanswerable questions
caught.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from chatbot import chooser as ch
from chatbot import policy
from chatbot.question import analyse
from evals.fit import ROOT, Corpus, Decision, Rows, extract
from evals.questions import CORPUS, QUESTIONS, load_questions
from evals.squad import HELDOUT_SIZE, SQUAD, chooser_sample, load_squad, squad_split, stratified
from ragchat.settings import Settings


def tally(model: ch.Chooser, rows: Rows, decision: Decision, questions: dict[str, str]) -> dict[str, Counter]:
    """Per check (its reason's first words, before any quoted words or figures), the leads it
    refuses: "right", "wrong", "unanswerable"."""
    probabilities = model.probabilities(rows.x)
    lead: dict[int, int] = {}
    for i, q in enumerate(rows.question):
        if q not in lead or probabilities[i] > probabilities[lead[q]]:
            lead[q] = i
    found: dict[str, Counter] = defaultdict(Counter)
    for q, i in lead.items():
        if probabilities[i] < decision.probability or rows.strength[q] < decision.strength or rows.never[q]:
            continue  # refused before any near-miss check
        reason = policy.unanswered_part(analyse(questions[rows.ids[q]]), [str(rows.texts[i])])
        if reason:
            outcome = "unanswerable" if not rows.answerable[q] else "right" if rows.y[i] > 0 else "wrong"
            found[" ".join(re.split(r'["\d]', reason)[0].split()[:4])][outcome] += 1
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.near_misses", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "evals" / "out" / "fit", help="where evals.fit keeps its caches")
    args = parser.parse_args(argv)
    model = ch.Chooser.load(Settings().compose.chooser_file)
    decision = Decision(model.answer_threshold, model.strength_threshold)
    squad = load_squad()
    sample = stratified(squad, squad_split()[1], HELDOUT_SIZE)
    fit_ids = [q.id for q in chooser_sample(squad)]
    wanted = set(fit_ids) | {q.id for q in sample}
    bundled_questions, squad_questions = load_questions(QUESTIONS), [q for q in squad if q.id in wanted]
    bundled = extract(Corpus("bundled", CORPUS, bundled_questions), args.out)
    squad_rows = extract(Corpus("squad2-train10", SQUAD / "corpus", squad_questions), args.out)
    texts = {q.id: q.question for q in [*bundled_questions, *squad_questions]}
    print(f"thresholds {decision.probability:.3f} / {decision.strength:.2f}; leads each check refuses:")
    for name, rows in (("bundled", bundled), ("squad fit half", squad_rows.subset(fit_ids)),
                       ("squad held-out sample", squad_rows.subset([q.id for q in sample]))):
        print(f"{name} ({len(rows.ids)} questions, {int(np.sum(~rows.answerable))} unanswerable)")
        for check, counts in sorted(tally(model, rows, decision, texts).items()):
            print(f"  {check:32} right {counts['right']:3}  wrong {counts['wrong']:3}  unanswerable {counts['unanswerable']:3}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
