"""`ragchat mcp` as a desktop assistant uses it: the official MCP client over stdio, the real command."""

from __future__ import annotations

import json
import sys

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.conftest import ROOT, child_env

APS = "How many children were killed in the 2014 Army Public School attack in Peshawar?"


def _session(settings, check) -> None:
    """Start `ragchat mcp` on ``settings``' store and run ``check(session)`` in one MCP session."""
    server = StdioServerParameters(command=sys.executable, args=["-m", "ragchat.cli", "mcp"], cwd=str(ROOT),
                                   env=child_env(RAGCHAT_DATA_DIR=str(settings.data_dir)))

    async def run() -> None:
        with anyio.fail_after(240):  # the model loads on two busy cores
            async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                await check(session)

    anyio.run(run)


def test_mcp_client_lists_and_calls_the_tools(corpus_settings):
    async def check(session: ClientSession) -> None:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert set(tools) == {"search", "ask", "list_documents"}
        assert "question" in tools["ask"].input_schema["required"]

        listed = await session.call_tool("list_documents", {})
        documents = listed.structured_content["result"]
        assert not listed.is_error and len(documents) == 5 and all(d["source"].endswith(".txt") for d in documents)
        assert "path" not in documents[0]

        asked = await session.call_tool("ask", {"question": APS})
        answer = asked.structured_content
        assert not asked.is_error and "132" in answer["answer"] and not answer["abstained"]
        first = answer["citations"][0]
        assert first["n"] == 1 and "[1]" in answer["answer"] and first["quote"] and first["source"].endswith(".txt")
        assert json.loads(asked.content[0].text)["answer"] == answer["answer"]  # text content for plain clients

        refused = (await session.call_tool("ask", {"question": "Who won the 2023 Cricket World Cup?"})).structured_content
        assert refused["abstained"] is True

        found = (await session.call_tool("search", {"question": "What does ISPR stand for?", "k": 3})).structured_content
        passages = found["result"]
        assert 1 <= len(passages) <= 3 and any("Inter-Services Public Relations" in p["text"] for p in passages)

        text = (await session.read_resource(first["document"])).contents[0].text
        assert text[first["start"]:first["end"]] == first["quote"]

        resources = (await session.list_resources()).resources
        assert sorted(r.name for r in resources) == sorted(d["source"] for d in documents)
        assert {str(r.uri) for r in resources} == {d["document"] for d in documents}

        bad = await session.call_tool("ask", {"question": "x", "docs": ["nope.txt"]})
        assert bad.is_error and "nope.txt" in bad.content[0].text
        empty = await session.call_tool("ask", {"question": "  "})
        assert empty.is_error and "question: empty" in empty.content[0].text

    _session(corpus_settings, check)
