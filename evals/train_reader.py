"""Fine-tune the answer reader (chatbot/reader.safetensors): a cross-encoder from the packaged MiniLM.

    python -m evals.train_reader            # candidates (cached), train, validate, write the weights
    python -m evals.train_reader --epochs 1 --dry-run

Training questions are SQuAD 2.0 questions of the "fit" half of squad2-train10's articles that
``python -m evals.fit`` does not sample: the chooser is fitted on other questions, the bundled
corpus and the held-out articles are never seen, so every figure ``evals.fit`` and ``ragchat
eval`` report for them stays a cross-corpus or held-out one. Each question is retrieved as
``ragchat ask`` would, its shortlisted sentences (``chatbot.chooser.shortlisted``) are the
candidates, and a sentence is a positive when it contains a gold answer string. A tenth of the
questions is kept back to report how the reader alone does.

The loss reads a question's candidates together, beside a fixed "none of these" score of 0
(SQuAD 2.0's null answer): answer sentences are pushed above the rest and above 0, and for a
question nothing answers, every sentence below 0. Every real unanswerable question of the fit
half is in the chooser's sample, so the reader's unanswerable questions are made: an answerable
question gets a twin the way SQuAD 2.0's writers made many of theirs: an entity of the question
that its answer sentence repeats swapped for another of its kind (a year moved by a few years), a
swapped word being one none of its candidates mentions, so the twin's former answer sentence is
now the hardest "about it but does not answer it" example there is. ``--twins`` adds two more
kinds, tried and not shipped (figures in docs/evaluation.md): the main verb swapped for another
question's verb ("Who designed the bridge?" -> "Who painted the bridge?") and the main verb
negated ("Who was not the first..."), made only where no candidate negates anything. Kinds
joined by "," are alternatives: a question gets at most one twin of them, its kind drawn among
those the question allows; "+" joins such groups, each giving its own twin ("entity+verb,negation":
an entity twin and a verb or negation twin).

Only the top ``--layers`` transformer layers, the pooler and the head are trained; the rest stay
the package's, so the stored file is a few megabytes and two CPU cores train it in half an hour.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shlex
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from chatbot import chooser as ch
from chatbot.entities import Entity, EntityTagger
from chatbot.question import analyse
from chatbot.verify import SentenceEncoder
from evals.fit import SHORTLIST
from evals.keys import holds_a_key
from evals.questions import Question
from evals.retrieval import PrimedEmbeddings
from evals.squad import SQUAD, article_of, chooser_sample, load_squad, squad_split
from ragchat.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "chatbot" / "reader.safetensors"
SPEC = ROOT / "chatbot" / "reader.json"
BASE = "all-MiniLM-L6-v2"
MAX_LENGTH = 128
NEGATIVES = 7  # per question: the shortlist's best-looking sentences that do not hold the answer
SWAPPABLE = frozenset({"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "EVENT", "WORK_OF_ART", "PRODUCT", "LAW",
                       "LANGUAGE", "DATE", "CARDINAL"})
_YEAR = re.compile(r"(1[5-9]|20)\d\d")
_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|none|without)\b|n't")
# verbs too general to change what a question asks ("What did she become?" -> "What did she make?")
_LIGHT_VERBS = frozenset("be have do make get take become go come give use say call include".split())


@dataclass(frozen=True)
class Group:
    """One question and its candidate sentences, read together by the loss."""

    question: str
    sentences: tuple[str, ...]
    labels: tuple[float, ...]
    origin: int  # the SQuAD question it comes from: a swapped twin shares it, so both train or both validate
    article: str
    twin: str = ""  # how an unanswerable twin was made: "entity", "verb" or "negation"; "" for a real question

    @property
    def answerable(self) -> bool:
        return any(self.labels)


def training_questions() -> list[Question]:
    """Answerable questions of the fit articles that the chooser's fit sample leaves out."""
    questions = load_squad()
    used = {q.id for q in chooser_sample(questions)}
    fit_articles = set(squad_split()[0])
    return [q for q in questions if q.answerable and article_of(q) in fit_articles and q.id not in used]


def candidates(questions: Sequence[Question], out: Path) -> list[Group]:
    """Each question's answer sentences and its best-looking non-answers, retrieved as ``ragchat ask`` would."""
    cache = out / "reader-groups.jsonl"
    if cache.exists():
        rows = [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines()]
        return [Group(r["question"], tuple(r["sentences"]), tuple(r["labels"]), r["origin"], r["article"]) for r in rows]
    from ingest.pipeline import ingest
    from vectorstore.request import RetrievalRequest
    from vectorstore.retrieval import open_retriever

    settings = Settings().replace(data_dir=out / "squad2-train10")
    ingest([SQUAD / "corpus"], settings, progress=False)
    retriever = open_retriever(settings)
    retriever.embeddings = PrimedEmbeddings(settings.store.embedding_model, [q.question for q in questions])
    encoder = SentenceEncoder(retriever.embeddings, limit=200_000)
    groups, started = [], time.perf_counter()
    for n, q in enumerate(questions):
        found = retriever.retrieve(q.question, RetrievalRequest())
        short = ch.shortlisted(analyse(q.question), found.query, found.passages, encoder, SHORTLIST)
        sentences = short.texts if short else []
        labels = [float(holds_a_key(s, q.must)) for s in sentences]
        if any(labels):
            keep = [i for i, y in enumerate(labels) if y] + [i for i, y in enumerate(labels) if not y][:NEGATIVES]
            groups.append(Group(q.question, tuple(sentences[i] for i in keep), tuple(labels[i] for i in keep), n,
                                article_of(q)))
        if (n + 1) % 200 == 0:
            print(f"  {n + 1}/{len(questions)} questions retrieved, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("".join(json.dumps(g.__dict__, ensure_ascii=False) + "\n" for g in groups), encoding="utf-8")
    return groups


TWIN_KINDS = ("entity", "verb", "negation")


def made_twins(groups: Sequence[Group], rng: random.Random, kinds: Sequence[Sequence[str]] = (("entity",),)) -> list[Group]:
    """Per question and per group of ``kinds``, at most one unanswerable twin, its kind drawn among
    the group's where the question allows it."""
    questions = [g.question for g in groups]
    entities = EntityTagger().tag(questions)  # the entities answering sees
    parsed = _parsed(questions) if {k for group in kinds for k in group} - {"entity"} else [None] * len(groups)
    names: dict[tuple[str, str], list[str]] = defaultdict(list)
    verbs: dict[tuple, list[str]] = defaultdict(list)  # main verbs of the questions, by form and frame
    for g, found, doc in zip(groups, entities, parsed):
        for e in found:
            names[(g.article, e.label)].append(e.text)
            names[("", e.label)].append(e.text)
        verb = _main_verb(doc) if doc is not None else None
        if verb is not None:
            verbs[_frame(verb)].append(verb.text)
    twins = []
    for g, found, doc in zip(groups, entities, parsed):
        everything = " ".join(g.sentences).casefold()
        makers = {"entity": lambda: _entity_swapped(g, found, names, everything, rng),
                  "verb": lambda: _verb_swapped(doc, verbs, everything, rng),
                  "negation": lambda: _negated(doc, everything)}
        for group in kinds:
            order = list(group)
            rng.shuffle(order)
            made = next(((kind, q) for kind in order if (q := makers[kind]())), None)
            if made:
                twins.append(Group(made[1], g.sentences, tuple(0.0 for _ in g.sentences), g.origin, g.article, made[0]))
    return twins


def twin_groups(spec: str) -> tuple[tuple[str, ...], ...]:
    """``--twins`` text to kind groups: "entity+verb,negation" -> (("entity",), ("verb", "negation"))."""
    return tuple(tuple(group.split(",")) for group in spec.split("+"))


def _parsed(questions: Sequence[str]) -> list:
    """The questions through spaCy's full pipeline: verbs need its tagger, parser and lemmatiser."""
    import spacy

    from chatbot.entities import MODEL_PACKAGE

    return list(spacy.load(MODEL_PACKAGE).pipe(questions, batch_size=64))


def _entity_swapped(g: Group, found: Sequence[Entity], names: dict, everything: str, rng: random.Random) -> str:
    """A question entity its answer sentences repeat, swapped for one none of its candidates names;
    preferably one its own article's questions name, which is the harder case."""
    answers = [s.casefold() for s, y in zip(g.sentences, g.labels) if y]
    named = [e for e in found if e.label in SWAPPABLE and all(e.text.casefold() in a for a in answers)]
    if not named:
        return ""
    entity = rng.choice(named)
    other = (_replacement(entity, names[(g.article, entity.label)], everything, rng)
             or _replacement(entity, names[("", entity.label)], everything, rng))
    return g.question[:entity.start] + other + g.question[entity.end:] if other else ""


def _replacement(entity: Entity, same_kind: Sequence[str], context: str, rng: random.Random) -> str:
    """Another year a few years off, or another entity of the same kind; never one the candidates mention."""
    if _YEAR.fullmatch(entity.text):
        options = [str(int(entity.text) + d) for d in (-7, -5, -3, -2, 2, 3, 5, 7)]
    else:
        options = list(dict.fromkeys(t for t in same_kind if t.casefold() != entity.text.casefold()))
    rng.shuffle(options)
    return next((o for o in options if o.casefold() not in context), "")


def _root(doc):
    return next((t for t in doc if t.dep_ == "ROOT"), None)


def _main_verb(doc):
    """The question's root verb when it is a content verb standing alone (no particle: "carried out")."""
    root = _root(doc)
    if root is None or root.pos_ != "VERB" or root.lemma_ in _LIGHT_VERBS or any(c.dep_ == "prt" for c in root.children):
        return None
    return root


def _frame(verb) -> tuple:
    """A verb's form (VBD, VBN...) and what it takes (an object, a clause, the passive), so a swapped
    verb fits its question: "Who orchestrated X?" becomes "Who painted X?", not "Who occurred X?"."""
    deps = {c.dep_ for c in verb.children}
    return verb.tag_, "dobj" in deps, "ccomp" in deps, "auxpass" in deps


def _verb_swapped(doc, verbs: dict[tuple, list[str]], everything: str, rng: random.Random) -> str:
    verb = _main_verb(doc)
    if verb is None:
        return ""
    options = [v for v in dict.fromkeys(verbs[_frame(verb)]) if v.casefold() != verb.text.casefold()]
    rng.shuffle(options)
    # the stem test keeps out "designed" when a candidate says "designs" or "designer"
    other = next((v for v in options if v.casefold()[:5] not in everything), "")
    return doc.text[:verb.idx] + other + doc.text[verb.idx + len(verb.text):] if other else ""


def _negated(doc, everything: str) -> str:
    """"not" before the main verb after its auxiliary ("did not win"), or after a copula ("was not")."""
    if _NEGATION.search(everything):
        return ""
    root = _root(doc)
    if root is None:
        return ""
    if root.pos_ == "AUX" and root.lemma_ == "be":
        at = root.idx + len(root.text)
        return doc.text[:at] + " not" + doc.text[at:]
    if root.pos_ == "VERB" and any(c.dep_ in ("aux", "auxpass") for c in root.children):
        return doc.text[:root.idx] + "not " + doc.text[root.idx:]
    return ""


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


def batches(groups: Sequence[Group], size: int, rng: random.Random) -> list[list[Group]]:
    """``size`` questions per batch, of similar length (less padding), batches in random order."""
    order = sorted(groups, key=lambda g: len(g.question) + sum(map(len, g.sentences)) / len(g.sentences) + rng.random() * 40)
    chunks = [order[lo:lo + size] for lo in range(0, len(order), size)]
    rng.shuffle(chunks)
    return chunks


def logits(model, tokenizer, groups: Sequence[Group], size: int = 8):
    """One tensor of logits per group. Pairs are read in length-sorted runs of ``size``: one batch
    padded to its longest pair cost two and a half times the time for the same logits."""
    import torch

    pairs = [(g.question, s) for g in groups for s in g.sentences]
    lengths = [len(ids) for ids in tokenizer(pairs, truncation=True, max_length=MAX_LENGTH)["input_ids"]]
    order = sorted(range(len(pairs)), key=lengths.__getitem__)
    flat = [None] * len(pairs)
    for lo in range(0, len(order), size):
        rows = order[lo:lo + size]
        enc = tokenizer([pairs[i][0] for i in rows], [pairs[i][1] for i in rows], truncation=True,
                        max_length=MAX_LENGTH, padding=True, return_tensors="pt")
        for i, value in zip(rows, model(**enc).logits.reshape(-1)):
            flat[i] = value
    return torch.stack(flat).split([len(g.sentences) for g in groups])


def loss(scores, groups: Sequence[Group]):
    """Mean over questions of -log P(the right choice), the choices being each sentence and "none" (score 0)."""
    import torch

    total = 0.0
    for s, g in zip(scores, groups):
        every = torch.logsumexp(torch.cat([s, s.new_zeros(1)]), 0)
        labels = torch.tensor(g.labels, dtype=torch.bool)
        right = torch.logsumexp(s[labels], 0) if g.answerable else s.new_zeros(())
        total = total + every - right
    return total / len(groups)


def validation(model, tokenizer, groups: Sequence[Group]) -> str:
    """How the reader alone does on held-back questions: ranking, and answering vs "none"."""
    import torch

    answerable = [g for g in groups if g.answerable]
    twins = [g for g in groups if not g.answerable]
    with torch.no_grad():
        first = [logits(model, tokenizer, [g])[0] for g in answerable]
        last = [logits(model, tokenizer, [g])[0] for g in twins]
    top = [g.labels[int(s.argmax())] > 0 for g, s in zip(answerable, first)]
    above = [float(s.max()) > 0 for s in first]
    below = [float(s.max()) <= 0 for s in last]
    share = lambda xs: sum(xs) / max(1, len(xs))  # noqa: E731
    kinds = ", ".join(f"{kind} {share([b for b, g in zip(below, twins) if g.twin == kind]):.3f}"
                      for kind in sorted({g.twin for g in twins}))
    return (f"top-1 {share(top):.3f}, answerable scored above none {share(above):.3f}, "
            f"twins below none {share(below):.3f} ({kinds})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.train_reader", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "evals" / "out" / "fit")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--layers", type=int, default=3, help="top transformer layers trained")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch", type=int, default=4, help="questions per step (about 8 sentences each)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--twins", default="entity",
                        help=f"kinds of unanswerable twin from {','.join(TWIN_KINDS)}: ',' between alternatives, "
                             "'+' between groups that each make a twin (see evaluation.md)")
    parser.add_argument("--dry-run", action="store_true", help="train and report, write nothing")
    args = parser.parse_args(argv)
    kinds = twin_groups(args.twins)
    if {k for group in kinds for k in group} - set(TWIN_KINDS):
        parser.error(f"--twins: choose among {', '.join(TWIN_KINDS)}")

    import torch
    from safetensors.torch import save_file
    from transformers import AutoTokenizer

    from vectorstore.embeddings import model_path

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    questions = training_questions()
    real = candidates(questions, args.out)
    twins = made_twins(real, rng, kinds)
    origins = sorted({g.origin for g in real})
    rng.shuffle(origins)
    held = set(origins[: len(origins) // 10])
    train = [g for g in real + twins if g.origin not in held]
    valid = [g for g in real + twins if g.origin in held]
    print(f"{len(questions)} questions, {len(real)} with an answer among their candidates, {len(twins)} unanswerable twins ({_counts(twins)}); "
          f"training on {len(train)} groups ({sum(len(g.sentences) for g in train)} pairs), validating on {len(valid)}")

    base = Path(model_path(BASE))
    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model = assembled_base(base)
    params = trainable(model, args.layers)
    optimiser = torch.optim.AdamW([p for _, p in params], lr=args.lr, weight_decay=0.01)
    steps = args.epochs * ((len(train) + args.batch - 1) // args.batch)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, 1 - s / steps))
    model.eval()
    print(f"before training: {validation(model, tokenizer, valid)}")
    started, step = time.perf_counter(), 0
    for epoch in range(args.epochs):
        model.train()
        for batch in batches(train, args.batch, rng):
            value = loss(logits(model, tokenizer, batch), batch)
            value.backward()
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            if step % 50 == 0:
                print(f"  epoch {epoch + 1} step {step}/{steps} loss {value.item():.3f} "
                      f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
        model.eval()
        print(f"epoch {epoch + 1}: {validation(model, tokenizer, valid)} ({time.perf_counter() - started:.0f} s)")
    if args.dry_run:
        return 0
    tuned = {name: p.detach().half().contiguous() for name, p in params}
    save_file(tuned, str(TARGET))
    spec = {"base": BASE, "max_length": MAX_LENGTH, "weights": TARGET.name, "layers": args.layers,
            "epochs": args.epochs, "lr": args.lr, "batch_questions": args.batch, "seed": args.seed, "twin_kinds": args.twins,
            "questions": len(questions), "groups": len(real), "twins": _counts(twins),
            "validation": validation(model, tokenizer, valid),
            "trained_on": "squad2-train10 fit-half articles, questions evals.fit does not sample, and their unanswerable twins",
            "command": shlex.join(["python", "-m", "evals.train_reader", *(sys.argv[1:] if argv is None else argv)])}
    SPEC.write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {TARGET} ({TARGET.stat().st_size / 1e6:.1f} MB) and {SPEC}")
    return 0


def _counts(twins: Sequence[Group]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(Counter(g.twin for g in twins).items()))


def assembled_base(base: Path):
    """The base model with a fresh one-logit head (what ``chatbot.reader.assembled`` lays the tuned tensors on)."""
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1, local_files_only=True,
                                                              attn_implementation="eager")


if __name__ == "__main__":
    sys.exit(main())
