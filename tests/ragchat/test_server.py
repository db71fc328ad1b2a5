"""`ragchat serve` as its clients use it: httpx on the JSON API, the official openai client on the
chat endpoint, and the CLI in client mode. The server is the real command in a subprocess, on a
writable copy of the corpus store, with an API key set, so every request also goes through auth.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
from click.testing import CliRunner

from ragchat.cli import main
from ragchat.library import Library
from tests.conftest import ROOT, child_env, free_port

KEY = "test-key-0f3a"
APS = "How many children were killed in the 2014 Army Public School attack in Peshawar?"
REFUGEES = "How many undocumented Afghan refugees is Pakistan sending back to Afghanistan?"
REFUGEES_SO_FAR = "How many had the UN said were directed to leave so far?"


def _start(env: dict[str, str], log: Path, port: int, wait_for: str = "/healthz",
           ok: tuple[int, ...] = (200,)) -> subprocess.Popen:
    """`ragchat serve` in a subprocess, returned once it answers ``wait_for``."""
    full = child_env(**env)
    proc = subprocess.Popen([sys.executable, "-m", "ragchat.cli", "serve", "--port", str(port)], env=full,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180  # model load on two busy cores
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{wait_for}", timeout=5).status_code in ok:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"ragchat serve did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def served(corpus_settings, tmp_path_factory):
    """(base URL, settings of the served store): a copy of the corpus store, so uploads may change it."""
    data = tmp_path_factory.mktemp("served") / "data"
    shutil.copytree(corpus_settings.data_dir, data)
    port = free_port()
    log = data.parent / "server.log"
    proc = _start({"RAGCHAT_DATA_DIR": str(data), "RAGCHAT_API_KEY": KEY, "RAGCHAT_UPLOAD_MAX_MB": "1"}, log, port)
    yield f"http://127.0.0.1:{port}", corpus_settings.replace(data_dir=data)
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def api(served) -> httpx.Client:
    with httpx.Client(base_url=served[0], headers={"Authorization": f"Bearer {KEY}"}, timeout=120) as client:
        yield client


def _same(answer: dict) -> dict:
    """An answer without its timings, which differ from run to run."""
    return {k: v for k, v in answer.items() if k != "timings_ms"}


# -- the JSON API ------------------------------------------------------------------------------------

def test_ask_returns_the_answer_the_library_gives(api, corpus_settings):
    served = api.post("/v1/ask", json={"question": APS})
    assert served.status_code == 200, served.text
    data = served.json()
    assert "132" in data["answer"] and not data["abstained"] and data["citations"][0]["quote"] in data["citations"][0]["passage"]
    assert _same(data) == _same(Library(corpus_settings).ask(APS).to_json())


def test_ask_streams_pieces_then_the_final_answer(api):
    with api.stream("POST", "/v1/ask", json={"question": APS, "stream": True}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        events, name = [], None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
    assert [n for n, _ in events[:-1]] == ["piece"] * (len(events) - 1) and events[-1][0] == "answer"
    pieces = "".join(data["text"] for _, data in events[:-1])
    assert "132" in pieces and pieces.strip() == events[-1][1]["answer"].strip()


def test_search_gives_passages_that_are_the_documents_text_at_their_offsets(api):
    found = api.post("/v1/search", json={"question": "What does ISPR stand for?", "k": 3})
    assert found.status_code == 200, found.text
    passages = found.json()["passages"]
    assert 1 <= len(passages) <= 3 and "answer" not in found.json()
    assert all(set(p) == {"chunk_ids", "doc_id", "source", "title", "date", "text", "start", "end", "score", "dense",
                          "page"} for p in passages)  # the fields docs/api.md lists
    for p in passages:
        text = api.get(f"/v1/documents/{p['doc_id']}").json()["text"]
        assert text[p["start"]:p["end"]] == p["text"] and p["source"].endswith(".txt") and p["score"] > 0
    assert any("Inter-Services Public Relations" in p["text"] for p in passages)


def test_follow_up_with_history_uses_the_earlier_turn(api):
    first = api.post("/v1/ask", json={"question": REFUGEES}).json()
    turn = {"question": first["question"], "answer": first["answer"],
            "cited_chunk_ids": [c["chunk_id"] for c in first["citations"]]}
    follow = api.post("/v1/ask", json={"question": REFUGEES_SO_FAR, "history": [turn]}).json()
    assert "1.7 million" in first["answer"] and "327,000" in follow["answer"]


def test_upload_ask_and_delete_a_document(api, served):
    listed = {d["source"] for d in api.get("/v1/documents").json()["documents"]}
    fact = "The Karakoram lighthouse survey of 2031 counted exactly 4,417 migratory cranes at Lake Zorvan."
    sent = api.post("/v1/documents", files=[("files", ("../../cranes survey.txt", fact.encode(), "text/plain")),
                                            ("files", ("tool.exe", b"MZ\x90", "application/octet-stream"))])
    assert sent.status_code == 200, sent.text
    assert sent.json()["added"] == ["cranes_survey.txt"]
    assert sent.json()["refused"] == [{"name": "tool.exe", "reason": sent.json()["refused"][0]["reason"]}]
    assert "unsupported type .exe" in sent.json()["refused"][0]["reason"]
    documents = api.get("/v1/documents").json()["documents"]
    added = next(d for d in documents if d["source"] not in listed)
    assert added["source"] == "cranes_survey.txt"  # sanitised: the name cannot leave the uploads folder

    answer = api.post("/v1/ask", json={"question": "How many migratory cranes did the 2031 survey count at Lake Zorvan?"})
    assert "4,417" in answer.json()["answer"] and answer.json()["citations"][0]["source"] == "cranes_survey.txt"

    assert (served[1].data_dir / "uploads" / "cranes_survey.txt").exists()
    deleted = api.delete(f"/v1/documents/{added['doc_id']}")
    assert deleted.status_code == 200 and deleted.json()["deleted"]["source"] == "cranes_survey.txt"
    assert not (served[1].data_dir / "uploads" / "cranes_survey.txt").exists()  # its saved copy is gone too
    assert {d["source"] for d in api.get("/v1/documents").json()["documents"]} == listed
    again = api.post("/v1/ask", json={"question": "How many migratory cranes did the 2031 survey count at Lake Zorvan?"})
    assert all(c["source"] != "cranes_survey.txt" for c in again.json()["citations"])


def test_twenty_concurrent_asks_all_succeed_with_the_sequential_answers(api, served):
    questions = [json.loads(line)["question"] for line in (ROOT / "evals" / "questions.jsonl").read_text().splitlines()[:20]]
    sequential = [_same(api.post("/v1/ask", json={"question": q}).json()) for q in questions]

    def ask(question: str) -> httpx.Response:
        with httpx.Client(base_url=served[0], headers={"Authorization": f"Bearer {KEY}"}, timeout=300) as client:
            return client.post("/v1/ask", json={"question": question})

    with ThreadPoolExecutor(20) as pool:
        concurrent = list(pool.map(ask, questions))
    assert [r.status_code for r in concurrent] == [200] * 20, [r.text for r in concurrent if r.status_code != 200]
    assert [_same(r.json()) for r in concurrent] == sequential


def test_bad_input_gets_a_clear_4xx_and_the_server_keeps_serving(api, served):
    malformed = api.post("/v1/ask", content=b'{"question": "unterminated', headers={"Content-Type": "application/json"})
    empty = api.post("/v1/ask", json={"question": "   "})
    huge = api.post("/v1/ask", json={"question": "why " * 250_000})
    long = api.post("/v1/ask", json={"question": "why " * 1000})
    typo = api.post("/v1/ask", json={"questoin": "What does ISPR stand for?"})
    bad_date = api.post("/v1/ask", json={"question": "What does ISPR stand for?", "date_from": "2024-13-45"})
    word_date = api.post("/v1/search", json={"question": "What does ISPR stand for?", "date_to": "yesterday"})
    unknown_doc = api.delete("/v1/documents/no-such-document")
    unknown_filter = api.post("/v1/ask", json={"question": "What does ISPR stand for?", "docs": ["nope.txt"]})
    unknown_backend = api.post("/v1/ask", json={"question": "What does ISPR stand for?", "backend": "gpt9"})
    oversized = api.post("/v1/documents", files=[("files", ("big.txt", b"word " * 300_000, "text/plain"))])
    no_key = httpx.post(f"{served[0]}/v1/ask", json={"question": "What does ISPR stand for?"})

    def message(response: httpx.Response) -> str:
        return response.json()["error"]["message"]

    assert malformed.status_code == 400 and "malformed JSON" in message(malformed)
    assert empty.status_code == 422 and message(empty) == "question: empty; ask something about the documents"
    assert huge.status_code == 413 and "over the limit" in message(huge)
    assert long.status_code == 422 and "over the limit of 2,000" in message(long)
    assert typo.status_code == 422 and "questoin" in message(typo)
    assert bad_date.status_code == 400 and message(bad_date).startswith("date_from: '2024-13-45' is not a date")
    assert word_date.status_code == 400 and message(word_date).startswith("date_to: 'yesterday' is not a date")
    assert unknown_doc.status_code == 404 and "no-such-document" in message(unknown_doc)
    assert unknown_filter.status_code == 404 and "nope.txt" in message(unknown_filter)
    assert unknown_backend.status_code == 400 and "gpt9" in message(unknown_backend)
    assert oversized.status_code == 422 and "too large (1.5 MB; the limit is 1 MB)" in message(oversized)
    assert no_key.status_code == 401 and "Authorization: Bearer" in message(no_key)
    assert api.get("/healthz").json()["documents"] == 5
    assert "132" in api.post("/v1/ask", json={"question": APS}).json()["answer"]


def test_a_web_page_cannot_use_the_local_server(api, served):
    """A page on another site can make the browser post a form here, or re-point its domain at 127.0.0.1."""
    before = api.get("/v1/documents").json()
    upload = [("files", ("planted.txt", b"Planted text that a web page tried to add to the library.", "text/plain"))]
    posted = api.post("/v1/documents", files=upload, headers={"Origin": "https://evil.example"})
    rebound = api.get("/v1/documents", headers={"Host": f"evil.example:{served[0].rsplit(':', 1)[1]}"})
    same_origin = api.get("/v1/documents", headers={"Origin": served[0]})  # the API's own /docs page
    assert posted.status_code == 403 and "cross-origin" in posted.json()["error"]["message"]
    assert rebound.status_code == 403 and "evil.example" in rebound.json()["error"]["message"]
    assert same_origin.status_code == 200 and same_origin.json() == before == api.get("/v1/documents").json()


def test_a_store_that_cannot_be_reached_is_503_and_the_server_stays_up(tmp_path):
    port, nowhere = free_port(), free_port()
    env = {"RAGCHAT_DATA_DIR": str(tmp_path / "data"), "CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(nowhere)}
    proc = _start(env, tmp_path / "server.log", port, ok=(503,))
    try:
        health = httpx.get(f"http://127.0.0.1:{port}/healthz")
        asked = httpx.post(f"http://127.0.0.1:{port}/v1/ask", json={"question": "What does ISPR stand for?"})
        assert health.status_code == 503 and f"127.0.0.1:{nowhere}" in health.json()["error"]["message"]
        assert asked.status_code == 503 and "CHROMA_HOST" in asked.json()["error"]["message"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# -- the OpenAI-compatible endpoint -----------------------------------------------------------------

@pytest.fixture
def client(served) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{served[0]}/v1", api_key=KEY, timeout=120, max_retries=0)


def test_openai_client_gets_the_answer_with_markers_sources_and_citations(client):
    completion = client.chat.completions.create(model="extractive", messages=[
        {"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": APS}])
    content = completion.choices[0].message.content
    answer, sources = content.split("\n\nSources:\n", 1)
    assert "132" in answer and "[1]" in answer and completion.choices[0].finish_reason == "stop"
    citations = completion.model_extra["citations"]
    assert citations[0]["n"] == 1 and citations[0]["quote"] in citations[0]["passage"]
    assert f"[1] {citations[0]['source']}" in sources and citations[0]["quote"][:40] in " ".join(sources.split())


def test_openai_client_follow_up_uses_the_conversation(client):
    first = client.chat.completions.create(model="extractive", messages=[{"role": "user", "content": REFUGEES}])
    follow = client.chat.completions.create(model="extractive", messages=[
        {"role": "user", "content": REFUGEES},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": [{"type": "text", "text": REFUGEES_SO_FAR}]}])
    assert "327,000" in follow.choices[0].message.content.split("Sources:")[0]


def test_openai_client_who_wrote_it_names_the_author_of_the_document_the_last_answer_cited(client):
    """The client sends back only the earlier answer's text; its Sources lines say what "it" is."""
    question = "What did the delegation request from the Afghan government?"
    first = client.chat.completions.create(model="extractive", messages=[{"role": "user", "content": question}])
    assert "001_a5b27a2b9793a65e.txt" in first.choices[0].message.content.split("Sources:")[1]
    follow = client.chat.completions.create(model="extractive", messages=[
        {"role": "user", "content": question},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "Who wrote it?"}])
    assert follow.model_extra["citations"][0]["source"] == "001_a5b27a2b9793a65e.txt"
    assert "Taut Bataut" in follow.choices[0].message.content.split("Sources:")[0]


def test_openai_client_answer_with_nothing_to_cite_has_no_empty_sources_heading(client):
    """The publisher only the manifest names: said to come from the metadata, citing nothing."""
    completion = client.chat.completions.create(model="extractive", messages=[
        {"role": "user", "content": "Who published Security Cooperation between Pakistan and Afghanistan?"}])
    content = completion.choices[0].message.content
    assert "afgazad.com" in content and "Sources:" not in content and "Closest passages" not in content
    assert "\n\nNotes:\n" in content and "metadata" in content.split("Notes:")[1]


def test_openai_client_streams_the_same_content(client):
    whole = client.chat.completions.create(model="extractive", messages=[{"role": "user", "content": APS}])
    chunks = list(client.chat.completions.create(model="extractive", messages=[{"role": "user", "content": APS}],
                                                 stream=True))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert len(chunks) > 2 and chunks[-1].choices[0].finish_reason == "stop"
    assert streamed.strip() == whole.choices[0].message.content.strip()
    assert chunks[-1].model_extra["citations"] == whole.model_extra["citations"]


def test_openai_client_unknown_model_lists_the_backends(client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": APS}])
    assert "gpt-4o" in str(raised.value) and "extractive, ollama, openai, llamacpp" in str(raised.value)
    assert [m.id for m in client.models.list()] == ["extractive", "ollama", "openai", "llamacpp"]


def test_openai_client_without_the_key_is_refused(served):
    wrong = openai.OpenAI(base_url=f"{served[0]}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.chat.completions.create(model="extractive", messages=[{"role": "user", "content": APS}])


# -- the CLI as a client ----------------------------------------------------------------------------

def test_cli_ask_through_the_server_prints_the_same_json_without_loading_models(served):
    env = child_env(RAGCHAT_SERVER_URL=served[0], RAGCHAT_API_KEY=KEY,
                    RAGCHAT_DATA_DIR="/nonexistent")  # the server's store is used, not one here
    probe = ("import sys\nfrom ragchat.cli import main\ntry:\n    main(['ask', '--json', sys.argv[1]])\n"
             "finally:\n    sys.stderr.write('heavy: ' + ' '.join(sorted({'torch', 'sentence_transformers', 'chromadb'}"
             " & set(sys.modules))))\n")
    run = subprocess.run([sys.executable, "-c", probe, APS], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert f"asking the server at {served[0]}" in run.stderr and run.stderr.rstrip().endswith("heavy:")
    data = json.loads(run.stdout)
    assert "132" in data["answer"] and data["citations"] and data["backend"] == "extractive"


def test_cli_chat_through_the_server_follows_up(served):
    env = {"RAGCHAT_SERVER_URL": served[0], "RAGCHAT_API_KEY": KEY}
    run = CliRunner().invoke(main, ["chat"], input=f"{REFUGEES}\n{REFUGEES_SO_FAR}\n/quit\n", env=env)
    assert run.exit_code == 0, run.output
    assert "1.7 million" in run.stdout and "327,000" in run.stdout and "asking the server" in run.stderr


def test_cli_ask_says_when_the_server_is_not_there():
    env = {"RAGCHAT_SERVER_URL": f"http://127.0.0.1:{free_port()}"}
    run = CliRunner().invoke(main, ["ask", "anything"], env=env)
    assert run.exit_code == 2 and "cannot reach the ragchat server" in run.stderr and "ragchat serve" in run.stderr


def test_serve_and_ui_refuse_to_listen_beyond_loopback_without_a_key():
    serve = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0"], env={"RAGCHAT_API_KEY": ""})
    ui = CliRunner().invoke(main, ["ui", "--host", "0.0.0.0"], env={"RAGCHAT_API_KEY": KEY})
    assert serve.exit_code == 2 and "RAGCHAT_API_KEY" in serve.stderr and "--no-auth" in serve.stderr
    assert ui.exit_code == 2 and "no login" in ui.stderr and "--no-auth" in ui.stderr
