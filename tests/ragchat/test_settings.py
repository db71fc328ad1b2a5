"""Settings as a user sets them: environment variables by flat name, grouped sections in code."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragchat.settings import Settings


def test_environment_variables_reach_their_sections():
    settings = Settings.from_env({"RAGCHAT_TOP_K": "9", "CHROMA_HOST": "db.local", "RAGCHAT_LLM_TIMEOUT": "2.5",
                                  "RAGCHAT_DATA_DIR": "/tmp/x"})
    assert settings.retrieval.top_k == 9 and settings.store.chroma_host == "db.local"
    assert settings.llm.llm_timeout == 2.5 and settings.data_dir == Path("/tmp/x")
    assert settings.location == "chroma server http://db.local:8000"


def test_a_bad_value_names_the_variable():
    with pytest.raises(ValueError, match="RAGCHAT_TOP_K='many' is not a valid int"):
        Settings.from_env({"RAGCHAT_TOP_K": "many"})


def test_replace_takes_flat_names_and_leaves_other_sections_shared():
    base = Settings()
    changed = base.replace(llm_model="x", top_k=3)
    assert changed.llm.llm_model == "x" and changed.retrieval.top_k == 3 and changed.get("top_k") == 3
    assert changed.store is base.store  # what keys the store's caches is untouched
    with pytest.raises(TypeError, match="no field 'topk'"):
        base.replace(topk=3)
