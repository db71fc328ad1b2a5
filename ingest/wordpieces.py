"""Count text the way the embedding model reads it: its own tokenizer, its own input length.

A chunk longer than the model's ``max_seq_length`` is silently truncated when embedded, so its tail
can never be found by meaning. Counting in the model's own wordpieces (not another tokenizer's)
is the only way to know a chunk fits. Only the tokenizer file is read, never the model weights,
so chunking stays fast and works before the model is loaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tokenizers import Tokenizer

from vectorstore.embeddings import model_path


class TokenizerNotFound(Exception):
    """The model folder has no fast tokenizer; the message says how to add one."""


@dataclass(frozen=True)
class Wordpieces:
    tokenizer: Tokenizer
    max_input: int  # wordpieces the model reads, its special tokens ([CLS], [SEP]) included

    @property
    def room(self) -> int:
        """Wordpieces of text that fit in one input beside the special tokens."""
        return self.max_input - self.tokenizer.num_special_tokens_to_add(is_pair=False)

    def count(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """Character span of each wordpiece of ``text``."""
        return self.tokenizer.encode(text, add_special_tokens=False).offsets


@lru_cache(maxsize=4)
def for_model(name: str) -> Wordpieces:
    """The tokenizer and input length of embedding model ``name`` (a packaged name or a folder)."""
    folder = model_path(name)
    tokenizer_file = folder / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise TokenizerNotFound(f"the embedding model folder {folder} has no tokenizer.json; save its fast tokenizer "
                                "there with transformers' AutoTokenizer.from_pretrained(folder).save_pretrained(folder)")
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_truncation()  # the file may carry a shorter length for training (128 for MiniLM)
    tokenizer.no_padding()
    return Wordpieces(tokenizer, _max_input(folder))


def _max_input(folder: Path) -> int:
    """What sentence-transformers truncates to: ``max_seq_length``, else the tokenizer's own limit."""
    for name, key in (("sentence_bert_config.json", "max_seq_length"), ("tokenizer_config.json", "model_max_length")):
        try:
            value = json.loads((folder / name).read_text(encoding="utf-8")).get(key)
        except (OSError, ValueError):
            continue
        if isinstance(value, int) and 0 < value < 1_000_000:
            return value
    raise TokenizerNotFound(f"the embedding model folder {folder} states no input length "
                            "(max_seq_length in sentence_bert_config.json)")
