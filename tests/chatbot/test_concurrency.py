"""Many questions at once in one process, as Streamlit serves its sessions: every one is answered.

Opening a store races when threads do it at the same moment (Chroma clients created together fail
to find their tenant), so what every question needs is opened once, under a lock
(``chatbot.resources``, ``vectorstore.retrieval.open_retriever``).
"""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

from ragchat.library import Library

QUESTIONS = ["How many TTP attacks took place in Pakistan in 2023?",
             "How many undocumented Afghan refugees is Pakistan sending back to Afghanistan?",
             "Which Pakistan Air Force base did militants try to attack on 4 November 2023?",
             "How do I cook chicken biryani?"]


def test_twenty_threads_asking_at_once_on_a_store_nobody_opened_yet_all_get_answers(corpus_settings, tmp_path):
    # A copy: this process has not opened it, so the threads race to open it as the first sessions of an app do.
    data = tmp_path / "data"
    shutil.copytree(corpus_settings.data_dir, data)
    settings = corpus_settings.replace(data_dir=data)
    start = threading.Barrier(20)

    def ask(n: int):
        library = Library(settings)  # one per thread, as each session or request may build its own
        start.wait()
        assert len(library.documents()) == 5  # what the app's sidebar reads first, in every session
        return library.ask(QUESTIONS[n % len(QUESTIONS)])

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(ask, range(20)))  # any exception in a thread is raised here
    alone = {q: Library(settings).ask(q) for q in QUESTIONS}
    for n, answer in enumerate(answers):
        same = alone[QUESTIONS[n % len(QUESTIONS)]]
        assert (answer.answer, answer.abstained, [c.quote for c in answer.citations]) == \
               (same.answer, same.abstained, [c.quote for c in same.citations])
    assert sum(a.abstained for a in answers) == 5  # only the biryani question is refused
