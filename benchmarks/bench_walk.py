"""Benchmark zwcrawl's cost per page against a bare Scrapy walk of the same pages, side by side.

    .venv/bin/python benchmarks/bench_walk.py [--articles 2000] [--rounds 3] [--grow 10000] [-s NAME=VALUE]

One synthetic copy of the site (bench_crawl.py's generator, two thirds English, one third Arabic) is served
on 127.0.0.1 by MirrorServer in this process. Each round runs, as child processes and in alternating order,
the bare walk (benchmarks/walk_spider.py under `scrapy runspider`: the same start pages and links, nothing
kept) and `python -m zwcrawl crawl` into a fresh archive, both with the same `-s` settings
(CONCURRENT_REQUESTS=16 unless given; delays are off for both: Scrapy's default, and zwcrawl's for a copy on
loopback). For each run: pages fetched, wall-clock seconds, CPU seconds (user + system, the child's own and
its extraction worker's), the same per page without the worker's ("main proc": the process whose reactor
thread sets the pace), peak RSS (VmHWM; the worker's CPU and peak RSS beside, from the crawl's log), and the
peak PSS of the child and its own children together (zwcrawl's extraction worker), sampled every 0.15 s from
/proc/PID/smaps_rollup. The two memory figures differ: the RSS of each process counts every shared library
page it maps, so the crawl's and the worker's added up count the libraries both map twice; PSS divides each
shared page among the processes mapping it, so the PSS of the two added up counts it once. Then
the median of each side, zwcrawl's pages per second as a share of the walk's, and its
CPU per page as a multiple of the walk's. With `--grow N`, zwcrawl also crawls a copy of N articles once,
to show whether its peak memory grows with the site. With `--profile FILE`, instead, one zwcrawl crawl runs
under `py-spy record --threads` (the `bench` extra), its stacks go to FILE (collapsed, for any flame graph
tool) and each thread's CPU time is printed by where it goes; `--idle` counts the time threads wait too
(network, disk syncs), `--gil` only the thread holding the GIL (the process's Python work, whichever
thread). Exit 1 when a crawl fails or archives less than the copy holds.
"""

from __future__ import annotations

import argparse
import compileall
import os
import platform
import re
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_crawl import add_child_options, generate_site, run_child  # noqa: E402 - the same generator and timer as the crawl's

import zwcrawl  # noqa: E402
from zwcrawl.mirror import MirrorServer  # noqa: E402

WALK_SPIDER = Path(__file__).resolve().parent / "walk_spider.py"
# Where a thread's time goes, by the frames of a sample: the first rule a stack matches names it.
_OWN = re.compile(r"\(zwcrawl/(?!cli\.py|__main__\.py|crawl\.py)")  # zwcrawl's frames below the CLI's
_RULES = (
    ("waiting (network, the writer thread)", lambda leaf, stack: "EpollSelector.select" in leaf),
    ("idle (no write waiting)", lambda leaf, stack: "write_queue.py" in leaf),
    ("WARC sync (fsync)", lambda leaf, stack: "WarcWriter._sync" in leaf),
    ("SQLite begin and commit (WAL sync)", lambda leaf, stack: leaf.startswith("Store._write ")),
    ("article extraction (zwcrawl/extract)", lambda leaf, stack: "zwcrawl/extract/" in stack),
    ("SQLite statements (zwcrawl/store)", lambda leaf, stack: "zwcrawl/store/" in stack),
    ("WARC records (zwcrawl/warc)", lambda leaf, stack: "zwcrawl/warc/" in stack),
    ("spider (zwcrawl/spiders)", lambda leaf, stack: "zwcrawl/spiders/" in stack),
    ("other zwcrawl (middlewares, pipeline, archive)", lambda leaf, stack: bool(_OWN.search(stack))),
    ("Scrapy, Twisted, asyncio, Python", lambda leaf, stack: True),
)
DEFAULT_SETTINGS = ["CONCURRENT_REQUESTS=16"]
_WORKER_LINE = re.compile(r"extraction worker: .*its CPU ([\d.]+) s, peak RSS ([\d.]+) MB")


@dataclass
class _Measure:
    """One child's figures."""

    side: str
    pages: int
    seconds: float
    cpu: float
    peak_rss_kb: int
    worker_cpu: float = 0.0  # zwcrawl's extraction worker, a process of its own (in `cpu` too)
    worker_rss_kb: int = 0
    peak_pss_kb: int = 0  # the child and its children (the worker), their PSS added up at one moment

    @property
    def rss_sum_kb(self) -> int:
        """Each process's own peak RSS added up: shared libraries counted once per process mapping them."""
        return self.peak_rss_kb + self.worker_rss_kb

    @property
    def rate(self) -> float:
        return self.pages / self.seconds


def _counts(total: int) -> dict[str, int]:
    english = round(total * 2 / 3)
    return {name: n for name, n in (("en", english), ("ar", total - english)) if n > 0}


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _pss_kb(pid: int) -> int:
    """A process's proportional set size (/proc/PID/smaps_rollup), 0 once it is gone."""
    try:
        found = re.search(r"^Pss:\s+(\d+) kB", Path(f"/proc/{pid}/smaps_rollup").read_text(), re.M)
    except OSError:
        return 0
    return int(found.group(1)) if found else 0


def _children(pid: int) -> list[int]:
    """A process's children (every thread's), as /proc lists them; none once it is gone."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _watch_group_pss(done: threading.Event, peak: list[int]) -> None:
    """Keep in peak[0] the highest PSS of this process's children and theirs (the crawl and its worker)
    added up at one sample, every 0.15 s until done. The mirror runs in this process, so it is not counted."""
    while not done.is_set():
        group = [pid for child in _children(os.getpid()) for pid in (child, *_children(child))]
        peak[0] = max(peak[0], sum(_pss_kb(pid) for pid in group))
        done.wait(0.15)


def _run(side: str, command: list[str], work: Path, timeout: float) -> tuple[_Measure, str, str]:
    """Run one child; its own CPU is the growth of this process's waited-for children's CPU."""
    before = _cpu_of_children()
    peak_pss, done = [0], threading.Event()
    watcher = threading.Thread(target=_watch_group_pss, args=(done, peak_pss), daemon=True)
    watcher.start()
    try:
        run = run_child(command, work, side, timeout)
    finally:
        done.set()
        watcher.join()
    cpu = _cpu_of_children() - before
    if run.returncode != 0:
        raise SystemExit(f"{side} exited {run.returncode}: {run.stderr.strip()[-800:]}")
    return (
        _Measure(side, 0, run.seconds, cpu, run.peak_rss_kb, peak_pss_kb=peak_pss[0]),
        run.stdout,
        run.stderr,
    )


def _walk(mirror: MirrorServer, work: Path, settings: list[str], timeout: float) -> _Measure:
    sites = ",".join(mirror.site_args())
    command = [sys.executable, "-m", "scrapy", "runspider", str(WALK_SPIDER), "-a", f"sites={sites}"]
    command += [arg for setting in settings for arg in ("-s", setting)]
    measure, _out, err = _run("walk", command, work, timeout)
    found = re.search(r"'downloader/response_count': (\d+)", err)
    if not found:
        raise SystemExit(f"walk: no response count in its log: {err.strip()[-800:]}")
    measure.pages = int(found.group(1))
    return measure


def _crawl(
    mirror: MirrorServer, work: Path, counts: dict[str, int], settings: list[str], timeout: float
) -> _Measure:
    archive = work / "archive"
    shutil.rmtree(archive, ignore_errors=True)
    command = [sys.executable, "-m", "zwcrawl", "crawl", "--archive", str(archive)]
    command += [arg for spec in mirror.site_args() for arg in ("--site", spec)]
    command += [arg for name in counts for arg in ("--edition", name)]
    command += [arg for setting in settings for arg in ("-s", setting)]
    measure, _out, _err = _run("zwcrawl", command, work, timeout)
    for log in (archive / "logs").glob("crawl-*.log"):
        worker = _WORKER_LINE.search(log.read_text("utf-8", errors="replace"))
        if worker:
            measure.worker_cpu, measure.worker_rss_kb = float(worker[1]), round(float(worker[2]) * 1024)
    with sqlite3.connect(f"file:{archive / 'zwcrawl.db'}?mode=ro", uri=True) as conn:
        held = dict(conn.execute("select edition, count(*) from articles group by edition").fetchall())
        pages = conn.execute("select count(*) from captures where record_type = 'response'").fetchone()[0]
    if held != counts:
        raise SystemExit(f"zwcrawl: the archive holds {held} articles, the copy {counts}")
    measure.pages = pages
    shutil.rmtree(archive, ignore_errors=True)
    return measure


def _row(m: _Measure) -> str:
    worker = ""
    if m.worker_rss_kb:
        worker = f"   worker: {m.worker_cpu:.1f} CPU s, {m.worker_rss_kb / 1024:.1f} MB"
    return (
        f"{m.side:<8} {m.pages:>6} {m.seconds:>8.1f} {m.rate:>8.1f} {m.cpu:>8.1f} "
        f"{1000 * m.cpu / m.pages:>11.2f} {1000 * (m.cpu - m.worker_cpu) / m.pages:>11.2f} "
        f"{m.peak_rss_kb / 1024:>11.1f} {m.peak_pss_kb / 1024:>13.1f}{worker}"
    )


def _header() -> str:
    names = (("side", "<8"), ("pages", ">6"), ("seconds", ">8"), ("pages/s", ">8"), ("CPU s", ">8"))
    names += (("CPU ms/page", ">11"), ("(main proc)", ">11"), ("peak RSS MB", ">11"))
    names += (("PSS+worker MB", ">13"),)
    return " ".join(f"{name:{align}}" for name, align in names)


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _compile_zwcrawl() -> None:
    """Write zwcrawl's bytecode before any timing, as an installed package has it (pip compiles what it
    installs; Scrapy's is compiled already). An editable install run with PYTHONDONTWRITEBYTECODE set
    would otherwise compile zwcrawl's modules from source in every crawl and in its worker: about 0.2 s of
    the crawl's start, and none of the walk's (its one spider file)."""
    compileall.compile_dir(Path(zwcrawl.__file__).parent, quiet=1)


def _serve(root: Path, counts: dict[str, int]) -> MirrorServer:
    return MirrorServer(root, editions=list(counts), ports=dict.fromkeys(counts, 0), log_path=None).start()


def _side_by_side(
    work: Path, counts: dict[str, int], rounds: int, settings: list[str], timeout: float
) -> None:
    site = generate_site(work / "site", counts)
    editions = ", ".join(f"{n} {e}" for e, n in counts.items())
    print(f"site: {editions} articles, {site.listing_pages} listing pages, {site.size / 1e6:.1f} MB")
    print(f"settings for both: {' '.join('-s ' + s for s in settings)}")
    runs: dict[str, list[_Measure]] = {"walk": [], "zwcrawl": []}
    mirror = _serve(work / "site", counts)
    try:
        print(_header())
        for round_no in range(rounds):
            order = ("walk", "zwcrawl") if round_no % 2 == 0 else ("zwcrawl", "walk")
            for side in order:
                load = _load()
                if side == "walk":
                    measure = _walk(mirror, work, settings, timeout)
                else:
                    measure = _crawl(mirror, work, counts, settings, timeout)
                runs[side].append(measure)
                print(f"{_row(measure)}   (load {load})", flush=True)
    finally:
        mirror.stop()
    rate = {side: statistics.median(m.rate for m in ms) for side, ms in runs.items()}
    cpu = {side: statistics.median(m.cpu / m.pages for m in ms) for side, ms in runs.items()}
    ratios = [z.rate / w.rate for w, z in zip(runs["walk"], runs["zwcrawl"], strict=True)]
    print(
        f"\nmedian pages/s: walk {rate['walk']:.1f}, zwcrawl {rate['zwcrawl']:.1f}; "
        f"zwcrawl/walk = {rate['zwcrawl'] / rate['walk']:.2f} "
        f"(per round: {', '.join(f'{r:.2f}' for r in ratios)})"
    )
    print(
        f"median CPU per page: walk {1000 * cpu['walk']:.2f} ms, zwcrawl {1000 * cpu['zwcrawl']:.2f} ms; "
        f"walk/zwcrawl = {cpu['walk'] / cpu['zwcrawl']:.2f}"
    )
    main = statistics.median((m.cpu - m.worker_cpu) / m.pages for m in runs["zwcrawl"])
    print(
        f"median CPU per page in zwcrawl's own process (its extraction worker aside): {1000 * main:.2f} ms; "
        f"walk/that = {cpu['walk'] / main:.2f}"
    )
    peaks = {side: max(m.peak_rss_kb for m in ms) / 1024 for side, ms in runs.items()}
    worker = max(m.worker_rss_kb for m in runs["zwcrawl"]) / 1024
    print(
        f"peak RSS: walk {peaks['walk']:.0f} MB, zwcrawl {peaks['zwcrawl']:.0f} MB "
        f"(+ {worker:.0f} MB its extraction worker); load average {_load()}"
    )
    print(_memory(runs["zwcrawl"]))


def _memory(measures: list[_Measure]) -> str:
    """zwcrawl's memory both ways: each process's peak RSS added up, and the peak of their PSS together."""
    rss = max(m.rss_sum_kb for m in measures) / 1024
    pss = max(m.peak_pss_kb for m in measures) / 1024
    return (
        f"zwcrawl's memory: peak RSS of the crawl's process + peak RSS of its worker = {rss:.1f} MB (shared "
        f"libraries counted in both); peak PSS of the two together = {pss:.1f} MB (shared pages counted once)"
    )


def _grown(work: Path, total: int, settings: list[str], timeout: float) -> None:
    counts = _counts(total)
    root = work / f"site-{total}"
    generate_site(root, counts)
    mirror = _serve(root, counts)
    try:
        measure = _crawl(mirror, work, counts, settings, timeout)
    finally:
        mirror.stop()
    shutil.rmtree(root, ignore_errors=True)
    print(
        f"\n{total} articles: {_header()}\n{' ' * (len(str(total)) + 11)}{_row(measure)}   (load {_load()})"
    )
    print(_memory([measure]))


def _profile(
    work: Path, counts: dict[str, int], settings: list[str], out: Path, idle: bool, gil: bool, timeout: float
) -> None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        raise SystemExit("bench_walk: --profile needs py-spy: pip install -e '.[bench]'")
    generate_site(work / "site", counts)
    mirror = _serve(work / "site", counts)
    archive = work / "archive"
    command = [py_spy, "record", "--threads", "--format", "raw", "--rate", "100", "-o", str(out)]
    command += ["--idle"] if idle else []
    command += ["--gil"] if gil else []
    command += ["--", sys.executable, "-m", "zwcrawl", "crawl", "--archive", str(archive)]
    command += [arg for spec in mirror.site_args() for arg in ("--site", spec)]
    command += [arg for name in counts for arg in ("--edition", name)]
    command += [arg for setting in settings for arg in ("-s", setting)]
    try:
        run = run_child(command, work, "profile", timeout)
    finally:
        mirror.stop()
    if run.returncode != 0:
        raise SystemExit(f"profile: exit {run.returncode}: {run.stderr.strip()[-800:]}")
    print(f"profiled crawl: {run.seconds:.1f} s (py-spy slows it); stacks in {out}; load average {_load()}")
    by_thread: dict[str, dict[str, int]] = {}
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        thread = frames[0].partition("): ")[2] or frames[0]
        name = next(name for name, rule in _RULES if rule(frames[-1], stack))
        places = by_thread.setdefault(thread, dict.fromkeys((name for name, _rule in _RULES), 0))
        places[name] += int(count)
    everything = sum(sum(places.values()) for places in by_thread.values())
    for thread, places in sorted(by_thread.items(), key=lambda item: -sum(item[1].values())):
        total = sum(places.values())
        if total < everything / 100:
            continue
        print(f"\n{thread}: {total / 100:.1f} s sampled")
        for name, n in places.items():
            if n:
                print(f"  {100 * n / total:5.1f}%  {name}")
    extraction = sum(places["article extraction (zwcrawl/extract)"] for places in by_thread.values())
    print(f"\narticle extraction: {100 * extraction / everything:.1f}% of all samples")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000, help="two thirds English, one third Arabic")
    parser.add_argument("--rounds", type=int, default=3, help="walk and crawl this many times each (0: not)")
    parser.add_argument("--grow", type=int, default=10000, help="also crawl a copy this large (0: not)")
    parser.add_argument("--profile", type=Path, metavar="FILE", help="profile one crawl with py-spy instead")
    parser.add_argument("--idle", action="store_true", help="with --profile: count waiting time too")
    parser.add_argument(
        "--gil", action="store_true", help="with --profile: sample only the thread holding the GIL"
    )
    parser.add_argument("--dir", type=Path, help="make the temporary directory here")
    add_child_options(parser, "a Scrapy setting for both sides (default: CONCURRENT_REQUESTS=16)")
    args = parser.parse_args()
    settings = args.settings or DEFAULT_SETTINGS
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}")
    _compile_zwcrawl()
    work = Path(tempfile.mkdtemp(prefix="bench_walk-", dir=args.dir))
    try:
        if args.profile:
            _profile(
                work,
                _counts(args.articles),
                settings,
                args.profile.resolve(),
                args.idle,
                args.gil,
                args.timeout,
            )
            return 0
        if args.rounds:  # 0: only the grown copy's crawl, for its memory
            _side_by_side(work, _counts(args.articles), args.rounds, settings, args.timeout)
        if args.grow:
            _grown(work, args.grow, settings, args.timeout)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
