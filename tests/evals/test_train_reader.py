"""The reader's made-up unanswerable questions: each must still ask about what its candidates
talk about, yet be answered by none of them (real spaCy model, no training run)."""

from __future__ import annotations

import random

from evals.train_reader import Group, made_twins, twin_groups

ANSWER = "The Varrow bridge was designed by Ilse Kamen in 1932 and opened in 1936."
OTHER = "The bridge carries four lanes of traffic over the river."


def _groups() -> list[Group]:
    return [
        Group("Who designed the Varrow bridge?", (ANSWER, OTHER), (1.0, 0.0), 0, "Bridges.txt"),
        Group("When did the Varrow bridge open?", (ANSWER, OTHER), (1.0, 0.0), 1, "Bridges.txt"),
        Group("Who painted the Kellin tower?", ("Ada Brun painted the Kellin tower in 1950.",), (1.0,), 2, "Bridges.txt"),
        Group("Who was the first mayor of Dunmore?", ("Dunmore's first mayor was Tom Reyes.",), (1.0,), 3, "Towns.txt"),
    ]


def test_entity_twins_swap_a_name_or_year_no_candidate_mentions():
    twins = made_twins(_groups(), random.Random(0))
    assert twins and all(t.twin == "entity" and not any(t.labels) for t in twins)
    originals = {g.origin: g for g in _groups()}
    for t in twins:
        source = originals[t.origin]
        assert t.question != source.question and t.sentences == source.sentences
        changed = set(t.question.split()) - set(source.question.split())
        assert changed and not any(w.strip("?").casefold() in " ".join(t.sentences).casefold() for w in changed)


def test_verb_twins_swap_in_another_questions_verb_that_no_candidate_uses():
    twins = {t.origin: t.question for t in made_twins(_groups(), random.Random(0), twin_groups("verb"))}
    # "designed" and "painted" trade places; "open" has no verb of its frame to swap with, "was" is not a content verb
    assert twins == {0: "Who painted the Varrow bridge?", 2: "Who designed the Kellin tower?"}


def test_negation_twins_negate_the_main_verb_and_one_kind_per_question():
    twins = made_twins(_groups(), random.Random(0), twin_groups("negation"))
    # "Who designed...?" has no auxiliary to put "not" after (it would need "did not design"), and
    # spaCy's small model reads "open" in "When did the bridge open?" as an adjective: no twin for them
    assert [(t.origin, t.question) for t in twins] == [(3, "Who was not the first mayor of Dunmore?")]
    mixed = made_twins(_groups(), random.Random(1), twin_groups("entity,verb,negation"))
    assert len({t.origin for t in mixed}) == len(mixed) == 4 and len({t.twin for t in mixed}) == 3


def test_no_negation_twin_where_a_candidate_negates():
    group = Group("Who was the first mayor of Dunmore?", ("Dunmore never had a mayor before Tom Reyes.",), (1.0,), 0, "T.txt")
    assert not [t for t in made_twins([group], random.Random(0), twin_groups("negation"))]


def test_each_plus_joined_group_makes_its_own_twin():
    plain = made_twins(_groups(), random.Random(0))
    both = made_twins(_groups(), random.Random(0), twin_groups("entity+verb,negation"))
    entity = [t for t in both if t.twin == "entity"]
    # every question that had an entity twin keeps one, and the verb/negation group adds its own
    assert {t.origin for t in entity} == {t.origin for t in plain}
    others = [t for t in both if t.twin != "entity"]
    assert others and len({t.origin for t in others}) == len(others)
