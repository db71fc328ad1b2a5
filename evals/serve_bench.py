"""What serving buys, printed rather than asserted: ``ragchat ask`` through a warm server against
``ragchat ask`` answering in its own process, requests per second at several concurrencies, and
the server's memory.

``python -m evals.serve_bench`` builds a store of the bundled corpus in a temporary folder, starts
``ragchat serve`` on a free loopback port, and times real command lines and real HTTP requests
against it. An in-process ``ragchat ask`` loads the models every time (seconds each), so only
``--in-process`` of them run (default 3); the served ones are 20.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from evals.metrics import percentile
from evals.questions import CORPUS, QUESTIONS
from ingest.pipeline import ingest
from ragchat.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = (1, 4, 16)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=20, help="questions asked through the server")
    parser.add_argument("--in-process", type=int, default=3, help="questions asked without a server (slow)")
    parser.add_argument("--requests", type=int, default=48, help="requests per concurrency level")
    args = parser.parse_args(argv)
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text("utf-8").splitlines() if line.strip()]
    folder = Path(tempfile.mkdtemp(prefix="ragchat-serve-bench-"))
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)  # this checkout first
    env = {**os.environ, "PYTHONPATH": path, "RAGCHAT_DATA_DIR": str(folder), "CHROMA_HOST": ""}
    env.pop("RAGCHAT_SERVER_URL", None)
    env.pop("RAGCHAT_API_KEY", None)
    server = None
    try:
        ingest([CORPUS], Settings.from_env(data_dir=folder, chroma_host=""), progress=False)
        _print_load("at the start")
        server, url, started = _serve(env, folder)
        print(f"server start to first healthy answer (models loaded, store open): {started:.1f} s")
        print(f"server RSS after start: {_rss_mb(server.pid):.0f} MB")

        served = [_cli_ask(q, {**env, "RAGCHAT_SERVER_URL": url}) for q in questions[:args.questions]]
        local = [_cli_ask(q, env) for q in questions[:args.in_process]]
        for name, runs in (("via the warm server", served), ("in-process", local)):
            wall, cpu, answer = ([r[i] for r in runs] for i in range(3))
            print(f"`ragchat ask` {name} ({len(runs)} questions): wall p50 {statistics.median(wall):.2f} s, "
                  f"p90 {percentile(wall, 90):.2f} s, max {max(wall):.2f} s; CLI process CPU p50 "
                  f"{statistics.median(cpu):.2f} s; answering (timings_ms.total) p50 {statistics.median(answer):.2f} s")

        _throughput(url, questions, 1, args.requests)  # untimed: every level then finds the same warm caches
        for clients in CONCURRENCY:
            rate, p50, p95 = _throughput(url, questions, clients, args.requests)
            print(f"POST /v1/ask, {clients:>2} concurrent clients, {args.requests} requests: {rate:.1f} requests/s, "
                  f"latency p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
        print(f"server RSS after the load: {_rss_mb(server.pid):.0f} MB")
        _print_load("at the end")  # other work on the machine inflates every figure above
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def _serve(env: dict[str, str], folder: Path) -> tuple[subprocess.Popen, str, float]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = (folder / "server.log").open("wb")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ragchat.cli", "serve", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return proc, url, time.perf_counter() - started
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.perf_counter() - started > 300:
            proc.kill()
            raise SystemExit(f"ragchat serve did not start:\n{(folder / 'server.log').read_text()[-3000:]}")
        time.sleep(0.2)


def _cli_ask(question: str, env: dict[str, str]) -> tuple[float, float, float]:
    """(wall, CPU of the CLI process, answering time) of one `ragchat ask --json QUESTION`, in seconds.

    On a busy machine the wall time mostly measures the queue for a core; the CLI's own CPU time
    and the answer's own timing say what the work costs.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "ragchat.cli", "ask", "--json", question], env=env,
                         capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        raise SystemExit(f"ragchat ask failed: {run.stderr[-2000:]}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return elapsed, cpu, json.loads(run.stdout)["timings_ms"]["total"] / 1000


def _throughput(url: str, questions: list[str], clients: int, total: int) -> tuple[float, float, float]:
    """(requests/s, p50 s, p95 s) for ``total`` asks spread over ``clients`` concurrent connections."""
    latencies: list[float] = []

    def worker(offset: int) -> None:
        with httpx.Client(base_url=url, timeout=600) as client:
            for i in range(offset, total, clients):
                started = time.perf_counter()
                client.post("/v1/ask", json={"question": questions[i % len(questions)]}).raise_for_status()
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    elapsed = time.perf_counter() - started
    return total / elapsed, percentile(latencies, 50), percentile(latencies, 95)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _print_load(when: str) -> None:
    print(f"load average (1/5/15 min) {when}: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores", flush=True)


if __name__ == "__main__":
    sys.exit(main())
