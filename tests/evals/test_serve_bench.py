"""The serving benchmark runs end to end as its docs say (figures printed, never asserted): it
starts a real `ragchat serve`, asks through real command lines and HTTP, and reports each figure."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT, child_env


def test_serve_bench_prints_every_figure(tmp_path):
    run = subprocess.run([sys.executable, "-m", "evals.serve_bench", "--questions", "2", "--in-process", "1",
                          "--requests", "4"], cwd=ROOT, capture_output=True, text=True, timeout=900,
                         env=child_env(TMPDIR=str(tmp_path)))
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert "via the warm server (2 questions): wall p50" in out and "in-process (1 questions)" in out
    for clients in (1, 4, 16):
        assert f"{clients:2d} concurrent clients, 4 requests:" in out and "requests/s" in out
    assert "server RSS after the load" in out
