"""The demo-blueprint benchmark runs end to end with a handful of parcels, so it cannot rot.

No timing is asserted: the script itself checks that its overlay and the naive
``geopandas.overlay`` way find the same total area before it prints their ratio.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_review.py"


def test_bench_review_runs_on_the_demo_blueprint() -> None:
    args = ["--parcels", "3", "--repeat", "1", "--batch-parcels", "8", "--workers", "2"]
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ratio baseline/ours" in done.stdout and "same total overlap area" in done.stdout
    assert "full ten-point review of 3 parcels" in done.stdout
    assert "batch of 8 parcels: serial" in done.stdout
