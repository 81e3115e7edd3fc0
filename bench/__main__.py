"""Run every benchmark module ``bench/bench_*.py``.

Each module exposes ``run(workdir: Path) -> list[dict]``; each dict is one
measured row (``name``, ``mb_per_s``, ``ratio_to_cat`` and any other figures).
Rows are printed as a table and written to ``bench/out/results.json``.
Usage: ``python -m bench [NAME_SUBSTRING ...]``.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    """Run the selected benchmark modules and print their rows."""
    workdir = HERE / "out"
    workdir.mkdir(exist_ok=True)
    rows: list[dict] = []
    for path in sorted(HERE.glob("bench_*.py")):
        if argv and not any(word in path.stem for word in argv):
            continue
        module = importlib.import_module(f"bench.{path.stem}")
        for row in module.run(workdir):
            row.setdefault("module", path.stem)
            print(json.dumps(row), flush=True)
            rows.append(row)
    (workdir / "results.json").write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
