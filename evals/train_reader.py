"""Fine-tune the answer reader (chatbot/reader.safetensors): a cross-encoder from the packaged MiniLM.

    python -m evals.train_reader            # pairs (cached), train, validate, write the weights
    python -m evals.train_reader --epochs 1 --dry-run

Training questions are SQuAD 2.0 questions of the "fit" half of squad2-train10's articles that
``python -m evals.fit`` does not sample: the chooser is fitted on other questions, the bundled
corpus and the held-out articles are never seen, so every figure ``evals.fit`` and ``ragchat
eval`` report for them stays a cross-corpus or held-out one. Each question is retrieved as
``ragchat ask`` would, its shortlisted sentences (``chatbot.chooser.shortlisted``) are the
candidates, and a sentence is a positive when it contains a gold answer string. A tenth of the
questions is kept back to report how often the reader alone ranks an answer sentence first.

Only the top ``--layers`` transformer layers, the pooler and the head are trained; the rest stay
the package's, so the stored file is a few megabytes and two CPU cores train it in minutes.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from chatbot import chooser as ch
from chatbot.question import analyse
from chatbot.verify import SentenceEncoder
from evals.fit import FIT_SIZE, SHORTLIST, SQUAD, _holds, _index_articles, _PrimedEmbeddings, squad_split, stratified
from evals.questions import Question, load_questions
from ragchat.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "chatbot" / "reader.safetensors"
SPEC = ROOT / "chatbot" / "reader.json"
BASE = "all-MiniLM-L6-v2"
MAX_LENGTH = 128
NEGATIVES = 7  # per question: the shortlist's best-looking sentences that do not hold the answer


def training_questions() -> list[Question]:
    """Answerable questions of the fit articles that the chooser's fit sample leaves out."""
    questions = load_questions(SQUAD / "questions.jsonl")
    _index_articles(questions)
    fit_articles, _ = squad_split()
    used = {q.id for q in stratified(questions, fit_articles, FIT_SIZE, all_unanswerable=True)}
    return [q for q in questions if q.answerable and q.sources and q.sources[0] in fit_articles and q.id not in used]


def pairs(questions: Sequence[Question], out: Path) -> list[tuple[str, str, float, int]]:
    """(question, sentence, label, question number) for every shortlisted sentence kept for training."""
    cache = out / "reader-pairs.jsonl"
    if cache.exists():
        return [tuple(json.loads(line)) for line in cache.read_text(encoding="utf-8").splitlines()]
    from ingest.pipeline import ingest
    from vectorstore.retrieval import open_retriever
    from vectorstore.request import RetrievalRequest

    settings = Settings().replace(data_dir=out / "squad2-train10")
    ingest([SQUAD / "corpus"], settings, progress=False)
    retriever = open_retriever(settings)
    texts = [q.question for q in questions]
    retriever.embeddings = _PrimedEmbeddings(settings.store.embedding_model, texts)
    encoder = SentenceEncoder(retriever.embeddings, limit=200_000)
    result, started = [], time.perf_counter()
    for n, q in enumerate(questions):
        found = retriever.retrieve(q.question, RetrievalRequest())
        short = ch.shortlisted(analyse(q.question), found.query, found.passages, encoder, SHORTLIST)
        sentences = short.texts if short else []
        labels = [float(_holds(s, q.must)) for s in sentences]
        if any(labels):
            negatives = [s for s, y in zip(sentences, labels) if not y][:NEGATIVES]
            result += [(q.question, s, 1.0, n) for s, y in zip(sentences, labels) if y]
            result += [(q.question, s, 0.0, n) for s in negatives]
        if (n + 1) % 200 == 0:
            print(f"  {n + 1}/{len(questions)} questions retrieved, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in result), encoding="utf-8")
    return result


def trainable(model, layers: int) -> list:
    """Freeze everything but the top ``layers`` encoder layers, the pooler and the head."""
    total = len(model.bert.encoder.layer)
    keep = [f"bert.encoder.layer.{i}." for i in range(total - layers, total)] + ["bert.pooler.", "classifier."]
    params = []
    for name, p in model.named_parameters():
        p.requires_grad = any(name.startswith(k) for k in keep)
        if p.requires_grad:
            params.append((name, p))
    return params


def batches(rows: Sequence, size: int, rng: random.Random) -> list[list]:
    """Batches of similar length (less padding), in random order."""
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]) + len(rows[i][1]) + rng.random() * 40)
    chunks = [[rows[i] for i in order[lo:lo + size]] for lo in range(0, len(order), size)]
    rng.shuffle(chunks)
    return chunks


def top1(model, tokenizer, rows: Sequence) -> float:
    """Share of questions whose highest-scored sentence holds the answer."""
    import torch

    by_question: dict[int, list] = {}
    for r in rows:
        by_question.setdefault(r[3], []).append(r)
    right = 0
    with torch.no_grad():
        for group in by_question.values():
            enc = tokenizer([r[0] for r in group], [r[1] for r in group], truncation=True, max_length=MAX_LENGTH,
                            padding=True, return_tensors="pt")
            logits = model(**enc).logits.reshape(-1)
            right += group[int(logits.argmax())][2] > 0
    return right / max(1, len(by_question))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.train_reader", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "evals" / "out" / "fit")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--layers", type=int, default=2, help="top transformer layers trained")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dry-run", action="store_true", help="train and report, write nothing")
    args = parser.parse_args(argv)

    import torch
    from safetensors.torch import save_file
    from transformers import AutoTokenizer

    from vectorstore.embeddings import model_path

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    questions = training_questions()
    rows = pairs(questions, args.out)
    numbers = sorted({r[3] for r in rows})
    rng.shuffle(numbers)
    held = set(numbers[: len(numbers) // 10])
    train = [r for r in rows if r[3] not in held]
    valid = [r for r in rows if r[3] in held]
    print(f"{len(questions)} questions, {len(rows)} pairs ({sum(r[2] for r in rows):.0f} positive); "
          f"training on {len(train)}, validating on {len(held)} questions")

    base = Path(model_path(BASE))
    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model = assembled_base(base)
    params = trainable(model, args.layers)
    optimiser = torch.optim.AdamW([p for _, p in params], lr=args.lr, weight_decay=0.01)
    steps = args.epochs * ((len(train) + args.batch - 1) // args.batch)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, 1 - s / steps))
    positive = torch.tensor((len(train) - sum(r[2] for r in train)) / max(1.0, sum(r[2] for r in train)))
    model.eval()
    print(f"before training: validation top-1 {top1(model, tokenizer, valid):.3f}")
    started, step = time.perf_counter(), 0
    for epoch in range(args.epochs):
        model.train()
        for batch in batches(train, args.batch, rng):
            enc = tokenizer([r[0] for r in batch], [r[1] for r in batch], truncation=True, max_length=MAX_LENGTH,
                            padding=True, return_tensors="pt")
            logits = model(**enc).logits.reshape(-1)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, torch.tensor([r[2] for r in batch]), pos_weight=positive)
            loss.backward()
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            if step % 100 == 0:
                print(f"  epoch {epoch + 1} step {step}/{steps} loss {loss.item():.3f} "
                      f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
        model.eval()
        print(f"epoch {epoch + 1}: validation top-1 {top1(model, tokenizer, valid):.3f} "
              f"({time.perf_counter() - started:.0f} s)")
    if args.dry_run:
        return 0
    tuned = {name: p.detach().half().contiguous() for name, p in params}
    save_file(tuned, str(TARGET))
    spec = {"base": BASE, "max_length": MAX_LENGTH, "weights": TARGET.name, "layers": args.layers,
            "epochs": args.epochs, "lr": args.lr, "batch": args.batch, "seed": args.seed,
            "questions": len(questions), "pairs": len(rows), "validation_top1": round(top1(model, tokenizer, valid), 4),
            "trained_on": "squad2-train10 fit-half articles, questions evals.fit does not sample",
            "command": "python -m evals.train_reader"}
    SPEC.write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {TARGET} ({TARGET.stat().st_size / 1e6:.1f} MB) and {SPEC}")
    return 0


def assembled_base(base: Path):
    """The base model with a fresh one-logit head (what ``chatbot.reader.assembled`` lays the tuned tensors on)."""
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1, local_files_only=True,
                                                              attn_implementation="eager")


if __name__ == "__main__":
    sys.exit(main())
