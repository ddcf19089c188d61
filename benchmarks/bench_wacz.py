"""Time `zwcrawl export wacz` of an existing archive (whole, and one edition), and `wacz validate` of it.

usage: .venv/bin/python benchmarks/bench_wacz.py --archive DIR [--timeout 900]

DIR is an archive such as `bench_crawl.py --keep` leaves (its archive/ directory). The packages are written
to a temporary directory beside nothing else and removed afterwards. Exit 1 when a step fails.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from pathlib import Path

from bench_crawl import run_child

WACZ = Path(sys.executable).parent / "wacz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, required=True)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    archive = args.archive.resolve()
    with sqlite3.connect(f"file:{archive / 'zwcrawl.db'}?mode=ro", uri=True) as conn:
        captures = conn.execute("select count(*) from captures where record_type != 'metadata'").fetchone()[0]
    warc_bytes = sum(p.stat().st_size for p in (archive / "warc").glob("*.warc.gz"))
    print(f"archive: {archive}: {captures:,} responses and revisits, {warc_bytes:,} bytes of WARC")
    zwcrawl = [sys.executable, "-m", "zwcrawl", "export", "wacz", "--archive", str(archive)]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        steps = [
            ("export wacz", [*zwcrawl, "--output", str(work / "all.wacz")]),
            ("export wacz --edition ar", [*zwcrawl, "--output", str(work / "ar.wacz"), "--edition", "ar"]),
            (
                "wacz validate",
                [str(Path(sys.executable).parent / "wacz"), "validate", "-f", str(work / "all.wacz")],
            ),
        ]
        print(f"{'step':28} {'seconds':>8} {'peak MB':>8} {'package bytes':>14}")
        for label, command in steps:
            run = run_child(command, work, label.replace(" ", "-"), args.timeout)
            if run.returncode != 0:
                failures.append(f"{label}: exit {run.returncode}: {run.stderr.strip()[-300:]}")
            output = Path(command[command.index("--output") + 1]) if "--output" in command else None
            size = f"{output.stat().st_size:,}" if output and output.exists() else "-"
            print(f"{label:28} {run.seconds:8.1f} {run.peak_rss_kb / 1024:8.1f} {size:>14}")
    if failures:
        print("FAILED:", *failures, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
