"""The benchmarks still run: each is started in miniature (SQLite only) and must finish and
print its ratios. Their numbers are not judged here (bench/ measures side by side in one run);
this only keeps a change elsewhere from breaking them unnoticed, as a settings change once did."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NO_PG = "postgresql://nobody@127.0.0.1:1/none"  # refused at once: the PostgreSQL half skips


@pytest.mark.parametrize(
    ("script", "args", "printed"),
    [
        ("webhooks.py", ["--deliveries", "20", "--seconds", "0.3", "--pg", NO_PG], "ratio:"),
        (
            "audit.py",
            ["--entries", "200", "--single", "20", "--verify-entries", "0", "--rounds", "1"],
            "verify DB",
        ),
    ],
    ids=["webhooks", "audit"],
)
def test_a_benchmark_runs_in_miniature(script: str, args: list[str], printed: str) -> None:
    extra = ["--no-pg"] if script == "audit.py" else []
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args, *extra],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert printed in done.stdout
