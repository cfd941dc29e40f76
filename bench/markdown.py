"""The table of a benchmark run as Markdown, for docs/performance.md:
`.venv/bin/python -m bench.markdown [bench/results.json]`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.suite import COLUMNS, Row, cells


def markdown(results: dict[str, Any]) -> str:
    rows = [Row(**row) for row in results["rows"]]
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cells(row)) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results.json")
    results = json.loads(path.read_text())
    machine = results["machine"]
    print(f"commit `{machine['commit']}`, started {results['started']}\n")
    print(markdown(results))


if __name__ == "__main__":
    main()
