"""The benchmark's table as Markdown, and docs/performance.md showing the run kept in
bench/results.json."""

from __future__ import annotations

import json
from pathlib import Path

from bench.markdown import markdown

ROOT = Path(__file__).resolve().parents[2]


def test_a_goal_missed_is_in_bold_and_a_reference_has_no_verdict() -> None:
    row = {"name": "x", "rate": 1234.5, "p50_ms": 1.0, "p99_ms": 60.0, "errors": 0,
           "reference": "", "ratio": 0.5, "goal": "p99 < 50 ms", "met": False,
           "value": "", "notes": ""}  # fmt: skip
    reference = row | {"name": "bare", "met": None, "goal": "", "ratio": None}
    lines = markdown({"rows": [reference, row]}).splitlines()
    assert lines[2] == "| bare | 1,234 | 1.0 | 60.0 | 0 |  |  |  |"
    assert lines[3] == "| x | 1,234 | 1.0 | 60.0 | 0 | 0.50 | p99 < 50 ms | **NO** |"


def test_the_performance_doc_holds_the_table_of_the_results_kept() -> None:
    results = json.loads((ROOT / "bench" / "results.json").read_text())
    doc = (ROOT / "docs" / "performance.md").read_text()
    assert markdown(results) in doc
    assert f"commit `{results['machine']['commit']}`" in doc
