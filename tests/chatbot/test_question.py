"""Question analysis on questions of any library: SQuAD's Wikipedia questions and invented ones.

What would answer a question decides which sentence is chosen, so a wrong kind here shows up as
a quote that is about the question without answering it.
"""

from __future__ import annotations

import pytest

from chatbot.policy import asked_clause, near_miss, not_said
from chatbot.question import (DATE, DESCRIPTION, DURATION, EXPANSION, LIST, NUMBER, OTHER, PERCENT, PERSON, PLACE, REASON, WORK,
                              YESNO, analyse, answer_kind, sub_questions)


@pytest.mark.parametrize("question, kind", [
    # SQuAD 2.0 (evals/datasets/squad2-train10)
    ("When did Beyonce start becoming popular?", DATE),
    ("In what city and state did Beyonce  grow up?", PLACE),
    ("Who managed the Destiny's Child group?", PERSON),
    ("What album made her a worldwide known artist?", WORK),
    ("How many Grammy awards did Beyoncé win for her first solo album?", NUMBER),
    ("What percentage of the city's wages does the securities industry provide?", PERCENT),
    ("Which music journalist described Beyonce as a crossover sex symbol?", PERSON),
    ("In what borough is the Douglaston neighborhood located?", PLACE),
    ("Where was Chopin's father from?", PLACE),
    # invented, about other libraries
    ("Why did the bridge collapse?", REASON),
    ("What caused the 1929 stock market crash?", REASON),
    ("Is the warranty transferable?", YESNO),
    ("Describe the onboarding process for new nurses.", DESCRIPTION),
    ("What are the main risks of the merger?", LIST),
    ("Which company acquired the startup in 2019?", PERSON),
    ("In which year was the treaty signed?", DATE),
    ("By when is the filter replacement expected to be finished?", DATE),
    ("How long is the Danube, in kilometres?", DURATION),  # "how long" asks a time or a length; both answer it
    ("How long did the hiatus last?", DURATION),
    ("How old was Chopin when he left Warsaw?", DURATION),
    ("What is the capacity of the new stadium?", NUMBER),
    ("What colour is the logo?", OTHER),
    # a long name before the noun asked, and "the name of" a thing asks for that thing
    ("What was the Lakeside Water Authority's total revenue in 2022?", NUMBER),
    ("What is the name of Beyoncé's management company?", PERSON),
    ("What was the name of the White Rabbits' album?", WORK),
    ("What was the death toll of the earthquake?", NUMBER),
    # "-ess" is not always a person
    ("What is the process by which green plants convert solar energy to stored energy?", DESCRIPTION),
    ("What was the name of Liszt's mistress?", PERSON),
    ("Which duchess opened the hospital?", PERSON),
])
def test_answer_kind(question, kind):
    assert answer_kind(question) == kind


def test_the_things_and_constraints_a_question_names():
    a = analyse("According to the 2021 census, how many residents did Springfield have in March 2020?")
    assert a.kind == NUMBER and a.typed
    assert a.years == {"2021", "2020"} and a.months == {"march"}
    assert a.source == "the 2021 census"
    assert "springfield" in a.names
    assert a.counted == {"resident"}
    assert "resid" in " ".join(a.terms) and "how" not in a.terms  # question words are not content


@pytest.mark.parametrize("question, counted, names", [
    ("How many TTP attacks took place in Pakistan in 2024?", "TTP attacks", {"ttp"}),  # not "took place"
    ("How many Chinese nationals died in the attack?", "Chinese nationals", {"chinese"}),
    ("How many children were massacred?", "children", set()),
    ("How many people were killed in January 2023?", "", set()),  # any count of people answers it
])
def test_how_many_counts_the_noun_phrase_not_the_verb_after_it(question, counted, names):
    a = analyse(question)
    assert a.counted_phrase == counted and a.counted_names == names


def test_an_entity_kind_is_expected_only_for_typed_questions():
    assert "PERSON" in analyse("Who founded the company?").labels
    assert "DATE" in analyse("When was Chopin born?").labels
    assert "DATE" in analyse("How long did the hiatus last?").labels  # OntoNotes: "nine months" is a DATE
    assert not analyse("Why did sales fall?").labels


@pytest.mark.parametrize("question, parts", [
    ("How many terrorist attacks hit Pakistan in 2023 and how many in 2024?",
     ["How many terrorist attacks hit Pakistan in 2023?", "How many terrorist attacks hit Pakistan in 2024?"]),
    ("What did the report say according to Smith and according to Jones?",
     ["What did the report say according to Smith?", "What did the report say according to Jones?"]),
    ("In what city and state did Beyonce grow up?", ["In what city and state did Beyonce grow up?"]),
    # a second question may start with a preposition
    ("How many attacks took place in 2023, and by what percentage did terrorism rise in 2024?",
     ["How many attacks took place in 2023?", "by what percentage did terrorism rise in 2024?"]),
    ("Which militant groups threaten the region, and how do they differ?",
     ["Which militant groups threaten the region, and how do they differ?"]),
])
def test_multi_part_questions_split_into_questions_that_stand_alone(question, parts):
    assert sub_questions(question) == parts


def test_a_part_that_points_back_but_asks_a_fact_is_kept_and_borrows_what_it_points_at():
    first, second = sub_questions("Who wrote the novel, and when was it published?")
    assert first == "Who wrote the novel?"
    assert second.startswith("when was it published") and "novel" in second
    # borrowed in brackets, so a refusal naming the part reads as it was asked
    assert not_said(sub_questions("When was the Torkham border closed and who closed it?")[1]) == \
        "The documents don't say who closed it (Torkham border)."


def test_a_part_that_says_it_names_in_brackets_what_the_part_before_it_named():
    """Searched alone, "how many meters will it install" finds any meters: what "it" is goes with it."""
    assert sub_questions("Which supplier was chosen for the Cedar Bend smart meter pilot, and how many meters "
                         "will it install?")[1] == "how many meters will it install (Cedar Bend)?"
    assert sub_questions("When did the Taliban's envoy visit Kabul, and what did his hosts promise?")[1] == \
        "what did his hosts promise (Taliban Kabul)?"
    # no pronoun, a name of its own, or nothing named before it: the part stands as asked
    assert sub_questions("Who won in 2023, and how many votes did Khan get?")[1] == "how many votes did Khan get?"
    assert sub_questions("What did Nawaz Sharif say about Kabul, and what did Imran Khan tell his wife?")[1] == \
        "what did Imran Khan tell his wife?"
    assert sub_questions("Who chose the supplier, and how many meters will it install?")[1] == \
        "how many meters will it install?"


@pytest.mark.parametrize("question, clause", [
    ("Who carried out the Bisham attack?", "who carried out the Bisham attack"),
    ("And how many were injured?", "how many were injured"),
    ("Beyonce's first album was released when?", "Beyonce's first album was released when"),
    ("How many people were killed in January 2023?", "how many people were killed in January 2023"),
    ("Who will lead the talks?", "who will lead the talks"),
])
def test_a_refusal_names_what_was_asked_in_the_readers_words(question, clause):
    assert asked_clause(question) == clause


@pytest.mark.parametrize("question", [
    "Where do the three children watch the trial?",  # SQuAD 2.0: "don't say where do the children watch" is not English
    "How many attacks did the TTP carry out in 2023?",
    "When was the album released?",
    "What is the population of Kabul?",
    "How could Pakistan and Afghanistan work together?",
    "Did the TTP claim the attack?",  # yes/no: the verb comes first
    "What do analysts expect?",  # do-support before a lower-case subject
    "What's the population of Kabul?",
])
def test_a_question_that_puts_its_verb_first_is_quoted_not_bent_into_a_clause(question):
    assert asked_clause(question) is None
    assert near_miss(question) == f'The documents don\'t answer "{question}" Closest:'
    assert not_said(question[0].lower() + question[1:]) == f'The documents don\'t answer "{question}"'


@pytest.mark.parametrize("question, abbreviation", [
    ("What does DRM stand for?", "DRM"),  # SQuAD 2.0
    ("UHI is an abbreviation of what?", "UHI"),
    ("What is the full name of the organization known by the acronym AIA?", "AIA"),
    ("What does B.I.C. stand for?", "B.I.C."),
    ("what does ispr stand for", "ispr"),  # typed in lower case: the word before "stand for"
])
def test_an_abbreviation_question_asks_for_its_long_form(question, abbreviation):
    analysis = analyse(question)
    assert analysis.kind == EXPANSION and analysis.abbreviation == abbreviation
    # "stand for" and "acronym" say how it asks, not what it is about: a passage lacking them is no weaker
    assert not {"stand", "acronym", "abbreviation", "full"} & analysis.terms


def test_stand_and_acronym_elsewhere_are_not_abbreviation_questions():
    assert analyse("Where does the army stand on the issue?").kind == PLACE
    assert analyse("What does it stand for?").abbreviation == ""


def test_a_count_answers_how_many_only_of_the_thing_asked_with_its_names():
    """"How many TTP fighters" is not answered by Daesh-K's fighters, nor by "three books"."""
    from chatbot.chooser import counts_what_is_asked

    fighters = analyse("How many TTP fighters are based in Afghanistan?")
    assert counts_what_is_asked(fighters, "The TTP has some 6,000 fighters in Afghanistan.")
    assert not counts_what_is_asked(fighters, "Daesh-K has close to 4,000 and 6,000 fighters.")
    assert not counts_what_is_asked(fighters, "The TTP wrote three books.")
    for question in ("How many terrorist attacks did Pakistan suffer in 2024?", "How many terrorist attacks hit Pakistan in 2024?"):
        assert counts_what_is_asked(analyse(question), "Of 521 total attacks, 95% occurred in two provinces.")
