"""ONNX Runtime inference for a local sentence-transformers model: the same vectors without torch.

Importing sentence-transformers pulls in torch, transformers and scikit-learn, about ten seconds
before a one-shot ``ragchat ask`` can start; ONNX Runtime and the Rust ``tokenizers`` load in well
under a second and run the encoder faster on CPU. The ONNX file is exported once from the model's
own folder (torch is needed only then) and cached, so nothing is downloaded. ``onnx-int8`` adds
dynamic int8 quantisation of the weights: smaller and faster, slightly different vectors.

Only the architecture sentence-transformers builds for all-MiniLM-L6-v2 and its kin is supported
(a transformer, mean pooling, normalisation); another model is refused with the fix.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

EXPORT_VERSION = "2"  # part of the cache key: bump when the export below changes
_OPSET = 17
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class UnsupportedModel(Exception):
    """The model folder is not one this exporter reproduces exactly; the message says what to use instead."""


def cache_root() -> Path:
    """Where exported models are kept: ``$XDG_CACHE_HOME/ragchat`` (``~/.cache/ragchat``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ragchat" / "onnx"


class OnnxEncoder:
    """Tokenise with the model's ``tokenizer.json``, run the exported encoder, mean-pool, normalise."""

    def __init__(self, model_dir: Path, quantized: bool = False, cache: Path | None = None):
        _check_architecture(model_dir)
        self.max_length = int(_read_json(model_dir / "sentence_bert_config.json").get("max_seq_length", 512))
        self.tokenizer = tokenizer_of(model_dir, self.max_length)
        self.session = session_of(exported(model_dir, quantized, cache or cache_root()))
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length float32 vectors. Texts are batched by length, as sentence-transformers does,
        so short texts are not padded to the longest of the whole list."""
        encodings = self.tokenizer.encode_batch(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for rows, feed in padded_batches(encodings, batch_size):
            hidden = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]
            mask = feed["attention_mask"]
            summed = (hidden * mask[..., None]).sum(axis=1)
            pooled = summed / np.clip(mask.sum(axis=1, keepdims=True), 1, None)
            out[rows] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return out


def tokenizer_of(model_dir: Path, max_length: int):
    """The model's own fast tokenizer, truncating at ``max_length``, unpadded (``padded_batches`` pads)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.no_padding()
    return tokenizer


def session_of(path: Path):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def padded_batches(encodings: list, batch_size: int) -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
    """The encodings in batches of similar length, each padded to its longest: (their positions,
    the model's inputs). Padding every text to the longest of the whole list costs a third more."""
    order = sorted(range(len(encodings)), key=lambda i: -len(encodings[i].ids))
    for lo in range(0, len(order), batch_size):
        rows = order[lo:lo + batch_size]
        width = max(len(encodings[i].ids) for i in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask, types = np.zeros_like(ids), np.zeros_like(ids)
        for row, i in enumerate(rows):
            e = encodings[i]
            ids[row, :len(e.ids)] = e.ids
            mask[row, :len(e.ids)] = 1
            types[row, :len(e.ids)] = e.type_ids
        yield rows, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def exported(model_dir: Path, quantized: bool, cache: Path) -> Path:
    """The cached ONNX file for this model folder, exported (and quantised) on first use."""
    weights = max((p for p in model_dir.iterdir() if p.suffix in (".safetensors", ".bin")), key=lambda p: p.stat().st_size)
    stat = weights.stat()
    key = hashlib.sha256(f"{model_dir.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{EXPORT_VERSION}".encode()).hexdigest()[:16]
    return cached_model(cache / f"{model_dir.name}-{key}", quantized, str(model_dir), lambda target: _export(model_dir, target))


def cached_model(folder: Path, quantized: bool, what: str, export: Callable[[Path], None]) -> Path:
    """``folder/model.onnx``, written by ``export`` on first use, or when ``quantized`` its int8
    twin, quantised from it on first use: the embedder and the answer reader are cached alike."""
    plain, int8 = folder / "model.onnx", folder / "model-int8.onnx"
    wanted = int8 if quantized else plain
    if wanted.exists():
        return wanted
    if not plain.exists():
        folder.mkdir(parents=True, exist_ok=True)
        print(f"exporting {what} to ONNX in {folder} (once; this takes a few seconds)", file=sys.stderr)
        export(plain)
    if quantized:
        _quantize(plain, int8)
    return wanted


def _export(model_dir: Path, target: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    # Eager attention traces to plain ops with no shape-dependent branches, unlike the SDPA path.
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    sample = tokenizer(["a short sentence", "and a somewhat longer second sentence to pad against"],
                       padding=True, return_tensors="pt")
    export_bert(model, "last_hidden_state", tuple(sample[n] for n in _INPUTS), target, {0: "batch", 1: "tokens"})


def export_bert(model, output: str, sample: tuple, target: Path, output_axes: dict[int, str]) -> None:
    """Export a BERT-style torch model to ``target``: inputs ids, mask and token types, one named output
    whose ``output_axes`` vary (batch, tokens).

    Keyword arguments in: the order of BERT's positional parameters changes between transformers
    releases. Written to a partial file and renamed, so a killed export never leaves a half-written model.
    """
    import torch

    class Keywords(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return getattr(self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids),
                           output)

    axes = {**{name: {0: "batch", 1: "tokens"} for name in _INPUTS}, output: output_axes}
    partial = target.with_suffix(f".{os.getpid()}.part")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about constants that hold for these encoders
        torch.onnx.export(Keywords().eval(), sample, str(partial), input_names=list(_INPUTS), output_names=[output],
                          dynamic_axes=axes, opset_version=_OPSET, dynamo=False)
    os.replace(partial, target)


def _quantize(source: Path, target: Path) -> None:
    """Dynamic int8 weights, per channel; written to a partial file and renamed."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = target.with_suffix(f".{os.getpid()}.part")
    # Per-channel scales: per-tensor ones gave cosines down to 0.89 against the float model, these 0.98.
    quantize_dynamic(str(source), str(partial), weight_type=QuantType.QInt8, per_channel=True)
    os.replace(partial, target)


def _check_architecture(model_dir: Path) -> None:
    modules = [m.get("type", "").rsplit(".", 1)[-1] for m in _read_json(model_dir / "modules.json", [])]
    pooling = _read_json(model_dir / "1_Pooling" / "config.json")
    supported = modules in (["Transformer", "Pooling", "Normalize"], ["Transformer", "Pooling"]) and pooling.get(
        "pooling_mode_mean_tokens") and not any(v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens")
    if not supported or not (model_dir / "tokenizer.json").exists():
        raise UnsupportedModel(f"the ONNX backend supports transformer + mean pooling models with a tokenizer.json; "
                               f"{model_dir} is not one: set RAGCHAT_EMBEDDING_BACKEND=torch")


def _read_json(path: Path, default=None):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {} if default is None else default
