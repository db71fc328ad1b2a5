"""A text file's inline Markdown and HTML marks stored as its rendered page shows them, and
nothing that only looks like a mark touched."""

from __future__ import annotations

from ingest.cleaning import join_pages


def stored(text: str) -> str:
    """A text or Markdown file's text as ingest stores it."""
    return join_pages([text], marked_up=True)[0]


def test_emphasis_links_and_styling_tags_read_as_the_rendered_page():
    text = ("#### **Efforts to Combat Terrorism**\n\n"
            "Attacks rose by almost **73 percent** after the Taliban took over Kabul on 15<sup>th</sup> August "
            "2021, says [the *annual* report](https://example.org/report) &amp; its annex<!-- draft -->.\n\n"
            "![Map of the border](map.png)")
    assert stored(text) == ("#### Efforts to Combat Terrorism\n\n"
                            "Attacks rose by almost 73 percent after the Taliban took over Kabul on 15th August 2021, "
                            "says the annual report & its annex.\n\n"
                            "Map of the border")


def test_no_mark_spans_two_lines():
    """When marks are read, a wrapped paragraph is one line already: a line is a paragraph, a list
    item or a heading, and a rendered page does not join two of them into one emphasis."""
    assert stored("* item *one\n* item two* end") == "* item *one\n* item two* end"
    assert stored("# *Title\nBody* more") == "# *Title\nBody* more"


def test_what_only_looks_like_a_mark_is_kept():
    for text in ["Run __init__.py with snake_case_names and _private.",  # underscores mark nothing in a text file
                 "The grid is 2*3*4 cells; a * b is fine.",  # asterisks inside a word or alone
                 "Set <your-key> in the file, and x < 3 > y.",  # not a styling tag
                 "Balochistan`s sectarian shift\nISKP`s expansion into Pakistan",  # backticks as apostrophes
                 "***Dr. Khuram Iqbal is the author of three books.",  # an opening with no close
                 "R&B and AT&T, 5 * 7 = 35.",
                 r"Files in \\fileserver\share and C:\Users\bob\_archive\*.txt, a\.b",  # backslashes are text
                 "Send <code> to 8001 and wait <time> minutes; the <b> tag.",  # styling tags that style nothing
                 "if a<b and c>d then stop",  # no tag at all
                 "Write `**bold**` or `[a](b)` and `&amp;`",  # a code span shields what it holds
                 r'Set <your-key path="C:\x"> first.',  # an unknown tag keeps its backslashes
                 ]:
        assert stored(text) == text, text


def test_a_table_cell_keeps_its_escaped_bar_and_loses_its_emphasis_and_line_breaks():
    table = "| Crossing | Note |\n|---|---|\n| **Chaman** | open a\\|b<br>since May&#10;2024 |\n"
    assert stored(table) == "Crossing: Chaman; Note: open a|b since May 2024."
    # a cell's entity is read before its "; " would become ", "
    assert stored("| Org | Note |\n|---|---|\n| Smith &amp; Sons | 1&ndash; 2 |") == "Org: Smith & Sons; Note: 1– 2."


def test_fenced_code_is_left_as_written():
    code = "```\nx = **kwargs\ny = [a](b)\n```"
    assert stored(f"Some **bold** text.\n\n{code}") == f"Some bold text.\n\n{code}"


def test_formats_that_are_not_marked_up_keep_their_asterisks():
    """A PDF's or HTML page's text is what it shows; an asterisk there is a footnote mark or a character."""
    assert join_pages(["Attacks rose **73 percent** in 2023."])[0] == "Attacks rose **73 percent** in 2023."


def test_stored_text_read_again_is_the_same():
    """Re-ingesting a stored text (a copy saved from the app, a re-run) must not keep changing it."""
    text = 'See <your-key path="C:\\x">, ![C:\\dir *map*](x.png), **73 percent** and 15<sup>th</sup> May.'
    assert stored(stored(text)) == stored(text) == 'See <your-key path="C:\\x">, C:\\dir map, 73 percent and 15th May.'


def test_a_hostile_line_of_marks_is_read_in_bounded_pieces():
    """A line of 100,000 unclosed emphases: the parser's cost grows with the square of a piece's
    marks, so it reads bounded pieces; every character that is no mark is kept."""
    text = "*a" * 100_000
    assert stored(text).count("a") == 100_000
