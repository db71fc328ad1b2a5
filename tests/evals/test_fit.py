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


def _corpus(seed, artefact_sign):
    """Questions of four candidate sentences, one of them answering. Column 0 marks answers on
    every corpus; column 1 marks them more strongly, but on this corpus only (its sign flips on the
    other): a trait of how one corpus was written, not of answers."""
    import numpy as np

    from chatbot import chooser as ch

    rng = np.random.default_rng(seed)
    questions, per = 80, 4
    y = np.zeros(questions * per)
    y[np.arange(questions) * per + rng.integers(0, per, questions)] = 1.0
    x = np.zeros((questions * per, len(ch.FEATURES)))
    x[:, 0] = y + rng.normal(0, 0.8, len(y))
    x[:, 1] = artefact_sign * 2 * y + rng.normal(0, 0.8, len(y))
    n = questions * per
    return fit.Rows(x, y, np.repeat(np.arange(questions), per), [f"q{seed}-{i}" for i in range(questions)],
                    np.ones(questions, dtype=bool), ["other"] * questions, np.ones(questions),
                    np.zeros(questions, dtype=bool), np.zeros(n, dtype=bool), np.array(["s"] * n),
                    np.zeros((n, 3), dtype=bool))


def test_a_feature_that_marks_answers_on_one_corpus_only_is_dropped():
    first, second = _corpus(1, +1), _corpus(2, -1)
    kept = fit.select_features(first, second, 0.1)
    assert 0 in kept  # marks answers on both corpora
    assert 1 not in kept  # fitted on either corpus alone, it ranks the other corpus's answers last
