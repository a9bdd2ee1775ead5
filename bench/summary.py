"""The summary RESULTS.md and the README quote, from the JSON files `run.py` and `bridge.py` write.

Per server and configuration: the median and the maximum of RLS ÷ W over all queries, with
the name searches as the Odoo bridge runs them (through the search function where the table
has one), then per user; the deploy times; and, from `bridge.py`'s files, the real Odoo
requests' overhead. Nothing is measured here: the figures are the runs' own.

    .venv/bin/python bench/summary.py --results bench/results-pg15-final.json \\
        bench/results-pg18-final.json --bridge bench/bridge-pg15-sql.json ...
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from run import LABELS, groups, ratio, routed_queries


def spread(result: dict[str, Any], names: list[str], config: str) -> str:
    """`median / max (worst query)` of the ratios of `names`."""
    ratios = {q: ratio(result, q, config) for q in names}
    worst = max(ratios, key=lambda q: ratios[q])
    return f"{statistics.median(ratios.values()):.2f} / {ratios[worst]:.2f} ({worst})"


def queries_table(results: list[dict[str, Any]]) -> str:
    """Markdown: one row per (configuration, group of queries), one column per server."""
    head = "| configuration | queries | " + " | ".join(r["server"] for r in results) + " |"
    lines = [head, "|---|---|" + "---|" * len(results)]
    for config in results[0]["configs"]:
        routed = [routed_queries(r["queries"]) for r in results]
        rows = {"all, name searches routed": routed}
        for group in groups(results[0]["queries"]):
            if group != "all queries":
                rows[group] = [groups(q)[group] for q in routed]
        for label, names in rows.items():
            cells = [spread(r, n, config) for r, n in zip(results, names, strict=True)]
            lines.append(f"| {LABELS[config]} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def deploy_table(results: list[dict[str, Any]]) -> str:
    lines = ["| deploy step | " + " | ".join(r["server"] for r in results) + " |"]
    lines.append("|---|" + "---:|" * len(results))
    for step in results[0]["deploy_s"]:
        times = " | ".join(f"{r['deploy_s'][step]:.2f} s" for r in results)
        lines.append(f"| {step} | {times} |")
    return "\n".join(lines)


def bridge_table(files: list[Path]) -> str:
    """Markdown: per file (server and plan-time functions, from its name) and request."""
    lines = ["| run | request | plain ms | enforced ms | overhead ms | overhead % |",
             "|---|---|---:|---:|---:|---:|"]  # fmt: skip
    for path in files:
        report = json.loads(path.read_text())
        for kind, cell in report["requests"].items():
            run = path.stem.removeprefix("bridge-")
            plain, enforced = cell["plain"]["median_ms"], cell["enforced"]["median_ms"]
            lines.append(
                f"| {run} | {kind} | {plain:.1f} | {enforced:.1f} | {cell['overhead_ms']:+.1f} "
                f"| {cell['overhead_pct']:+.1f} % |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, nargs="+", required=True)
    parser.add_argument("--bridge", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    results = [json.loads(path.read_text()) for path in args.results]
    print(queries_table(results), "", deploy_table(results), sep="\n")
    if args.bridge:
        print("", bridge_table(args.bridge), sep="\n")


if __name__ == "__main__":
    main()
