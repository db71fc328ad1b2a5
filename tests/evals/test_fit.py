"""The fit's feature cache: a figure printed from rows the current code no longer produces would mislead."""

from evals import fit


def _tree(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_editing_the_code_of_a_policy_check_makes_cached_features_stale(tmp_path, monkeypatch):
    _tree(tmp_path, {"chatbot/policy.py": "LIMIT = 1\n", "ragchat/settings.py": "K = 5\n", "ragchat/cli.py": "x = 1\n",
                     "ragchat/text/facts.py": "", "vectorstore/retrieval.py": "", "ingest/pipeline.py": "",
                     "evals/retrieval.py": "", "evals/keys.py": "def holds(text): return 'x' in text\n"})
    monkeypatch.setattr(fit, "ROOT", tmp_path)
    before = fit.source_digest()
    (tmp_path / "ragchat/cli.py").write_text("x = 2\n", encoding="utf-8")  # a shell, not how rows are computed
    assert fit.source_digest() == before
    (tmp_path / "chatbot/policy.py").write_text("LIMIT = 2\n", encoding="utf-8")
    assert fit.source_digest() != before
    edited = fit.source_digest()
    (tmp_path / "chatbot/policy.py").write_text('"""Why the limit is two."""\nLIMIT = 2  # reworded\n', encoding="utf-8")
    assert fit.source_digest() == edited  # rewording a docstring or a comment changes no row
    (tmp_path / "ragchat/settings.py").write_text("K = 60\n", encoding="utf-8")
    assert fit.source_digest() != edited
    edited = fit.source_digest()
    (tmp_path / "evals/keys.py").write_text("def holds(text): return ' x ' in text\n", encoding="utf-8")
    assert fit.source_digest() != edited  # how a sentence is labelled an answer
