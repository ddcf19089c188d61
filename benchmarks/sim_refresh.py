"""Simulate a year of `zwcrawl crawl --refresh-due` on the whole site: no network, a clock of its own.

    .venv/bin/python benchmarks/sim_refresh.py [--days 365] [--articles 240000] [--new-per-day 100] [--seed 1]

The site starts with `--articles` minus a year's worth of articles (one every 24/new-per-day hours going
back), and gains `--new-per-day` a day. Counters move mostly in an article's first week: changes arrive at a
rate of 20 a day times e^(-age / 2 days), plus one a year. A refresh crawl runs every hour and fetches what
zwcrawl.refresh_policy says is due; a new article is first observed by the hourly update after it appears.
Printed: requests per day (the day's refresh crawls) and, by the article's age, the longest and 95th
percentile gap between two observations, against a daily `--refresh` (every article every 24 hours).
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import sys
import time
from datetime import UTC, datetime, timedelta

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))

from zwcrawl.refresh_policy import History, RefreshPolicy, next_due  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=UTC)
BANDS = ((7, "< 7 days"), (30, "7-30 days"), (365, "30 days-1 year"), (10**9, "> 1 year"))


def changes_between(age0: float, age1: float) -> float:
    """Expected counter/comment changes between two ages (days): 20/day * e^(-age/2) + 1/365."""
    return 40 * (math.exp(-age0 / 2) - math.exp(-age1 / 2)) + (age1 - age0) / 365


def band(age_days: float) -> str:
    return next(name for limit, name in BANDS if age_days < limit)


def simulate(days: int, articles: int, per_day: int, seed: int, policy: RefreshPolicy) -> int:
    rng = random.Random(seed)
    step = 24 / per_day  # hours between two new articles
    existing = articles - days * per_day
    born: list[float] = []  # hours since START (negative: before the simulation)
    last: list[float] = []
    unchanged: list[int] = []
    due: list[tuple[float, int]] = []

    def schedule(i: int) -> None:
        history = History(START + timedelta(hours=born[i]), START + timedelta(hours=last[i]), unchanged[i])
        heapq.heappush(due, ((next_due(history, policy) - START) / timedelta(hours=1), i))

    for n in range(existing):
        age = (existing - n) * step
        born.append(-age)
        # In the steady state an old, quiet article has met its longest interval: last seen somewhere in it.
        quiet = 64 if age > 24 * 60 else 0
        interval = min(policy.longest / timedelta(hours=1), max(1.0, age * policy.age_factor))
        last.append(-rng.uniform(0, min(interval, age)))
        unchanged.append(quiet)
        schedule(n)

    per_day_requests = [0] * days
    gaps: dict[str, list[float]] = {name: [] for _, name in BANDS}
    arrivals = 0.0
    for hour in range(days * 24):
        now = float(hour)
        while arrivals <= now:  # new articles, first observed by this hour's update
            born.append(round(arrivals, 4))  # whole seconds or so, as the policy's datetimes see it
            last.append(now)
            unchanged.append(0)
            schedule(len(born) - 1)
            arrivals += step
        while due and due[0][0] <= now:
            _, i = heapq.heappop(due)
            age_then, age_now = (last[i] - born[i]) / 24, (now - born[i]) / 24
            changed = rng.random() < 1 - math.exp(-changes_between(age_then, age_now))
            if born[i] >= 0:  # the staleness figures: articles the year saw appear, by age when last seen
                gaps[band(age_then)].append(now - last[i])
            per_day_requests[hour // 24] += 1
            last[i] = now
            unchanged[i] = 0 if changed else unchanged[i] + 1
            schedule(i)

    total = len(born)
    print(f"site: {existing:,} articles at the start, {per_day}/day, {total:,} after {days} days")
    print(f"policy: {policy}")
    settled = per_day_requests[30:] or per_day_requests
    print()
    print(f"{'requests per day':<28}{'--refresh-due':>16}{'daily --refresh':>18}")
    print(
        f"{'  first 30 days (mean)':<28}{sum(per_day_requests[:30]) / min(30, days):>16,.0f}{existing:>18,}"
    )
    print(f"{'  after (mean)':<28}{sum(settled) / len(settled):>16,.0f}{total:>18,}")
    print(f"{'  after (max)':<28}{max(settled):>16,}{total:>18,}")
    print()
    print(
        f"{'gap between observations':<28}{'max h':>8}{'p95 h':>8}{'count':>10}   daily --refresh: max 24 h"
    )
    failures = []
    for limit, name in BANDS:
        values = sorted(gaps[name])
        if not values:
            continue
        worst, p95 = values[-1], values[int(0.95 * (len(values) - 1))]
        print(f"  {name:<26}{worst:>8.1f}{p95:>8.1f}{len(values):>10,}")
        if limit == 7 and worst > 6 or limit == 30 and worst > 24:
            failures.append(f"{name}: a gap of {worst:.1f} h")
    if max(settled) >= 10_000:
        failures.append(f"{max(settled):,} requests on a day")
    if failures:
        print("FAILED:", *failures, sep="\n  ")
        return 1
    print("OK: < 7 days seen every 6 h, < 30 days daily, under 10,000 requests a day")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--articles", type=int, default=240_000, help="articles at the end of the run")
    parser.add_argument("--new-per-day", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    start = time.perf_counter()
    code = simulate(args.days, args.articles, args.new_per_day, args.seed, RefreshPolicy())
    print(f"(simulated in {time.perf_counter() - start:.0f} s)")
    return code


if __name__ == "__main__":
    sys.exit(main())
