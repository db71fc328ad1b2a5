"""The text helpers every layer shares, on the cases that decide answers."""

from __future__ import annotations

import pytest

from ragchat.text.abbreviations import definitions
from ragchat.text.dates import months_in, years_in, years_named, years_reported
from ragchat.text.ordinals import place_asked, place_of
from ragchat.text.facts import (
    contradicted_figures,
    facts_of,
    missing_facts,
    missing_names,
    missing_phrases,
)
from ragchat.text.rows import cells, labelled_row
from ragchat.text.sentences import Span, split_sentences, without_list_marker, without_trailing_links
from ragchat.text.terms import lexical_overlap, tokenize


def test_terms_fold_plurals_and_drop_stopwords():
    assert tokenize("The attacks on cities") == ["attack", "city"]
    assert lexical_overlap("Which attacks?", "One attack happened") == 1.0
    # a possessive adds no word, and a footnote number glued to a word is not part of it
    assert tokenize("Pakistan's 327,000 refugees36 and the G20") == ["pakistan", "327", "000", "refugee", "g20"]


def test_facts_match_figures_and_names_in_their_other_forms():
    facts = facts_of("In 2023 Pakistani forces counted seven attacks and 4,000 arrests.")
    assert {"7", "4000", "2023"} <= facts.numbers and "pakistani" in facts.names
    assert missing_facts(facts, "Pakistan saw 7 attacks, 4000 arrests, 2023") == set()
    assert missing_facts(facts, "Pakistan saw 8 attacks, 4000 arrests, 2023") == {"7"}
    # a demonym in "-ese", a model's plural, a compound written apart are the names the text writes
    asked = facts_of("What were the DB10s at the Superbowl used for in the Chinese market?")
    assert missing_facts(asked, "Two DB10 cars appeared at Super Bowl 50 and in China.") == set()
    assert missing_facts(asked, "Two DB10 cars appeared in Japan.") == {"superbowl", "chinese"}


def test_a_name_typed_one_letter_off_is_the_name_the_text_writes():
    """Users misspell names: "Khurram" for "Khuram", "Batut" for "Bataut", "Achakzay" for "Achakzai"."""
    text = "Dr. Khuram Iqbal and Taut Bataut quoted Jan Achakzai and the Iran-Iraq war."
    assert missing_names(frozenset({"khurram", "batut", "achakzay", "iqbal"}), text) == set()
    assert missing_phrases(["Khurram Iqbal", "Taut Batut"], text) == set()
    # the first letter must agree, and a short name must be exact
    assert missing_names(frozenset({"prussia", "oman"}), "Russia and Iran.") == {"prussia", "oman"}


def test_dates_in_running_text():
    assert months_in("In March and april 2024") == {"march", "april"} and years_in("from 1999 to 2024") == {"1999", "2024"}


def test_abbreviations_are_found_with_what_they_stand_for():
    text = ("The Varrow Harbour Authority (VHA) said on Monday (after the storm) that the ferry (1932) and "
            "the VRT (Varrow Rapid Transit) would run; the North-West Ferry Line (NWFL will be renamed.")
    found = [(d.short, d.long, text[d.start:d.end]) for d in definitions(text)]
    # a parenthesis that is a remark or a year defines nothing; an unclosed one does not stop the rest
    assert found == [("VHA", "Varrow Harbour Authority", "Varrow Harbour Authority"),
                     ("VRT", "Varrow Rapid Transit", "Varrow Rapid Transit")]
    # the long form must spell the abbreviation in order, its first letter starting a word
    assert definitions("The New City Fire Department (FDNC) answers.") == []
    assert [d.long for d in definitions("Its Executable and Linkable Format (ELF) files load.")] == [
        "Executable and Linkable Format"]
    # the abbreviation may carry the noun it names
    assert [(d.short, d.long) for d in definitions("The Port Authority Trans-Hudson (PATH train) links them.")] == [
        ("PATH", "Port Authority Trans-Hudson")]
    wrapped = "the Inter-Services\nPublic  Relations (ISPR) said"  # offsets stay true across line breaks and spaces
    assert [wrapped[d.start:d.end] for d in definitions(wrapped)] == ["Inter-Services\nPublic  Relations"]


def test_a_figure_the_question_counts_is_contradicted_only_by_another_figure_of_the_same_thing():
    asked = "Who tells Bond he has five minutes to escape before the thirty-fourth film's two hundred extras leave?"
    said = "Blofeld tells him he has three minutes to escape; the twenty-fourth film had one hundred extras."
    assert contradicted_figures(asked, said) == ["minutes", "film", "extras"]
    # the asked figure said anywhere, in words or digits, or the thing not counted at all, is no contradiction
    assert contradicted_figures(asked, "He has 5 minutes, then 3 minutes; 34th film, 200 extras.") == []
    assert contradicted_figures(asked, "He has little time to escape.") == []
    # "the third album" and "3 albums" say different things; "one of them" and "in 2015" count nothing
    assert contradicted_figures("When was her third album released?", "She had 2 albums by then.") == []
    assert contradicted_figures("Which of the 3 films came in 2015?", "One of them came in 2016.") == []
    assert contradicted_figures("Did it rise 72%?", "It rose 70% in a year.") == ["percent"]
    # whoever joins "2 other women" makes three women in all
    asked = "She joined 2 other women on which list?"
    assert contradicted_figures(asked, "She was one of three women on that list.") == []
    assert contradicted_figures(asked, "She was one of five women on that list.") == ["women"]


@pytest.mark.parametrize("sentence, years", [
    ("Assaults on frontline staff rose to 96, up from 81 in 2023.", set()),
    ("Total revenue for 2024 was $214.6 million, compared with $198.3 million in 2023.", {"2024"}),
    ("Customers rose to 148,200 from 143,900 in 2023.", set()),
    ("We replaced 42 km of mains (2023: 31 km).", set()),
    ("Revenue fell from $5.2 million in 2022 to $4.1 million in 2023.", {"2023"}),
    ("A total of 789 attacks took place in 2023 alone, the most since 2017.", {"2017", "2023"}),
    ("Imports from China in 2023 rose.", {"2023"}),  # "from" a place, not from a figure
    ("Assaults rose to 96 (81 in 2023).", set()),
    ("Sales fell to 80 (2023: 95; 2022: 110).", set()),
    ("Fewer people died than in 2022, when 40 died.", set()),
    # a hedge is no comparison
    ("More than 1,200 people were killed in 2023.", {"2023"}),
    ("Visitors from 40 countries arrived in 2023.", {"2023"}),
    ("Exports from 2023 rose 5% in 2024.", {"2023", "2024"}),
])
def test_the_years_a_sentence_reports_leave_out_those_it_compares_with(sentence, years):
    assert years_reported(sentence) == years


@pytest.mark.parametrize("question, asked", [
    ("What is the fourth step on the day of discharge?", (4, "step")),
    ("What happens at step 4?", (4, "step")),
    ("What is the 2nd key recommendation?", (2, "recommendation")),
    # a span, an occasion, a rank or a date is no place in a list
    ("How many died in the first nine months of 2023?", (0, "")),
    ("What happened in the second quarter?", (0, "")),
    ("When did she first perform?", (0, "")),
    ("Who chaired the first meeting?", (0, "")),
    ("What is the second largest city?", (0, "")),
    ("What happened on the fourth of July?", (0, "")),
])
def test_the_place_in_a_list_a_question_asks_for(question, asked):
    assert place_asked(question) == asked


@pytest.mark.parametrize("sentence, place", [
    ("4. You move to the Discharge Lounge.", 4), ("Fourth, restore the Sunday timetable.", 4),
    ("Secondly: hire staff.", 2), ("In the first year, we grew.", 0), ("12 people died.", 0),
])
def test_the_place_a_list_item_has(sentence, place):
    assert place_of(sentence) == place


@pytest.mark.parametrize("text, years", [
    ("Revenue for 2022-23 was $41 million.", {"2022", "2023"}),  # a fiscal year is both years
    ("the 2019–2021 drought", {"2019", "2020", "2021"}),
    ("the 2023/24 season", {"2023", "2024"}),
    ("Published 2024-03-11.", {"2024"}),  # an ISO date is one year
    ("Filed 2008-11-01 and 2003/12/05.", {"2008", "2003"}),
    ("In 2019 - 20 people died.", {"2019"}),
    ("the 1999-00 season", {"1999", "2000"}),
    ("from 1810 to 1849", {"1810", "1849"}),
])
def test_a_span_of_years_names_each_year_in_it(text, years):
    assert years_named(text) == years


def test_a_link_glued_to_a_sentence_s_end_is_not_part_of_the_sentence():
    post = "The army says attacks rose to 51, including 5 terroristshttps://t.co/THuLxaC7aE"
    assert without_trailing_links(Span(post, 100, 100 + len(post))) == \
        Span("The army says attacks rose to 51, including 5 terrorists", 100, 156)
    link = Span("https://t.co/THuLxaC7aE", 0, 23)
    assert without_trailing_links(link) == link  # a line that is only a link stays what it is


@pytest.mark.parametrize("item, said", [
    ("- running our first smart meter pilot, in Cedar Bend;", "running our first smart meter pilot, in Cedar Bend"),
    ("2. Moorings: Forty new moorings will be laid.", "Moorings: Forty new moorings will be laid."),
    ("• Dredging the outer channel,", "Dredging the outer channel"),
    # no list item: a figure, a negative number and a decimal stay
    ("12 Pakistani soldiers were killed;", "12 Pakistani soldiers were killed;"),
    ("-5 degrees was the lowest reading.", "-5 degrees was the lowest reading."),
    ("- 5 degrees was the lowest reading.", "- 5 degrees was the lowest reading."),
    ("– much smaller – fish market", "– much smaller – fish market"),  # a dash opening a line of prose
    ("- item ;", "item"),
    ("• 24 stations will get new lifts", "24 stations will get new lifts"),  # a bullet, unlike "-", before a figure
    ("3.5 Million people fled.", "3.5 Million people fled."),
])
def test_a_list_item_is_quoted_without_its_bullet_or_number(item, said):
    found = without_list_marker(Span(item, 40, 40 + len(item)))
    assert found.text == said and item[found.start - 40:found.end - 40] == said


def test_a_labelled_row_is_read_back_cell_by_cell_and_prose_is_not_taken_for_one():
    row = labelled_row(["Crossing", "Lorries in 2024", "", "Days closed in 2024"], ["Chaman", "58,200", "fenced", "83"])
    assert row == "Crossing: Chaman; Lorries in 2024: 58,200; fenced; Days closed in 2024: 83."
    assert [(c.label, row[c.start:c.end]) for c in cells(row)] == [
        ("Crossing", "Chaman"), ("Lorries in 2024", "58,200"), ("", "fenced"), ("Days closed in 2024", "83")]
    assert labelled_row(["Year", "Attacks"], ["", " "]) == ""
    noted = labelled_row(["City", "Notes"], ["Herat", "Note: cold; windy"])
    assert noted == "City: Herat; Notes: Note: cold, windy."
    assert [noted[c.start:c.end] for c in cells(noted)] == ["Herat", "Note: cold, windy"]
    # a row is one sentence though a cell's text ends one; prose around it splits as before
    provisional = labelled_row(["Name", "Note", "Year"], ["Ann", "Figures provisional. See annex", "2024"])
    text = f"Returns rose. They fell later.\n{provisional}\nTalks: none. Trade: open."
    assert [s.text for s in split_sentences(text)] == ["Returns rose.", "They fell later.", provisional,
                                                      "Talks: none.", "Trade: open."]
    for prose in ["It is also known as the Wenchuan earthquake (Chinese: 汶川大地震; pinyin: Wènchuān dà dìzhèn).",
                  "Other films have included: La valse de l'adieu (1928); Impromptu (1991); La note bleue (1991); "
                  "and Chopin: Desire for Love (2002).",
                  "Note: the talks failed; they resumed in May."]:
        assert cells(prose) == [], prose
