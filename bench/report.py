"""The yearly report at scale: 100,000 officers and a year of sample activity (issue 16, item 8).

A fresh database is filled by the sample-data generator (bot/sample_data.py: the roster, care
cases, drives and donations, an appeal, events and clubs, a year of greetings as delivered),
then the report is made R times, each timed in three parts:

- figures_s: reading every figure of the year and of the year before, and the units' rows
  (bot/report.gather: storage/statistics.py's queries);
- charts_s: drawing the seven charts to PNG (what /stats sends);
- pdf_s: writing the PDF (cover, programmes with charts, a page per unit) in memory;

and reports each part's median and spread (min–max), and the peak resident memory of the process
that made the reports: they are made in a fresh process of their own (as the bot or the CLI
would), so the memory the filling took (the roster import holds the whole roster) is not
counted; the filling's peak is printed apart. The last line of output is JSON:
{"officers": ..., "figures_s": ..., "charts_s": ..., "pdf_s": ..., "peak_rss_mb": ...} (medians).
Targets (issue 16): figures_s < 5, the whole report < 30 s, peak_rss_mb < 500.

Run from the repository root: ``python bench/report.py [--officers N] [--database-url URL]``.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import multiprocessing
import os
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):
    # Run as a script: Python put bench/ on sys.path, but the packages live in the repo root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.updates import bench_database, postgres_url
from bot import charts, report
from bot.policy import load_policy
from bot.sample_data import fill
from storage.crypto import FieldCipher
from storage.db import Database

ZONE = ZoneInfo("Asia/Shanghai")
TARGETS = {"figures_s": 5.0, "report_s": 30.0, "peak_rss_mb": 500.0}
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.report",
        description="Fill a fresh database with N officers and a year of sample activity, then "
        "time the yearly report's figures, charts and PDF R times; the last line is JSON.",
    )
    parser.add_argument(
        "--officers",
        type=int,
        default=100_000,
        metavar="N",
        help="officers on the roster (default: 100000)",
    )
    parser.add_argument(
        "--year",
        type=int,
        default=datetime.now(ZONE).year - 1,
        help="the year of sample activity (default: last year)",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, metavar="R", help="reports made and timed (default: 3)"
    )
    parser.add_argument("--seed", type=int, default=2018, help="sample data seed (2018)")
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="a PostgreSQL URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test, to "
        "run on a fresh schema there (dropped afterwards); default: a temporary SQLite file",
    )
    args = parser.parse_args(argv)
    if args.officers < 1 or args.repeats < 1:
        parser.error("need 1 <= N and 1 <= R")
    return args


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MB.

    Linux's VmHWM belongs to the process's own address space, so a child started by spawn
    (fork, then exec) reports its own peak; ru_maxrss would carry the parent's over the fork.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _spread(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.3f} s (min {min(values):.3f}, max {max(values):.3f})"
    )


def fill_database(database: Database, args: argparse.Namespace) -> None:
    """A year of sample activity for N officers."""
    started = time.perf_counter()
    last = {"label": ""}

    def progress(label: str, done: int, total: int) -> None:
        if label != last["label"]:
            print(f"  filling: {label}", flush=True)
            last["label"] = label

    summary = fill(
        database,
        load_policy(None),
        officers=args.officers,
        year=args.year,
        seed=args.seed,
        zone=ZONE,
        cipher=FieldCipher(FieldCipher.generate_key()),
        progress=progress,
    )
    print(f"  {summary.line()}")
    print(f"  filled in {time.perf_counter() - started:.1f} s (peak {peak_rss_mb():.0f} MB)")


def time_reports(url: str, year: int, repeats: int) -> dict[str, list[float] | float | int]:
    """Make the report `repeats` times, timing each part; in the process that calls it."""
    policy = load_policy(None)
    database = Database(url)
    timings: dict[str, list[float]] = {"figures_s": [], "charts_s": [], "pdf_s": []}
    pages, officers = 0, 0
    try:
        for _ in range(repeats):
            begin = time.perf_counter()
            made = report.gather(database, policy, year, ZONE)
            timings["figures_s"].append(time.perf_counter() - begin)
            begin = time.perf_counter()
            for section in charts.SECTIONS:
                picture = charts.png(
                    charts.draw(section, made.now, scope=policy.union_name, names=made.names)
                )
                assert picture.startswith(b"\x89PNG"), f"{section}: not a PNG"
            timings["charts_s"].append(time.perf_counter() - begin)
            begin = time.perf_counter()
            buffer = io.BytesIO()
            pages = report.write_pdf(made, buffer)
            timings["pdf_s"].append(time.perf_counter() - begin)
            assert buffer.getvalue().startswith(b"%PDF"), "not a PDF"
            officers = made.now.members.on_roster
    finally:
        database.dispose()
    return {**timings, "pages": pages, "officers": officers, "peak_rss_mb": peak_rss_mb()}


def _child(url: str, year: int, repeats: int, results: Any) -> None:
    try:
        results.put(time_reports(url, year, repeats))
    except AssertionError as exc:
        results.put({"error": str(exc)})


def measure(database: Database, args: argparse.Namespace) -> dict[str, float | int]:
    """Fill, then time R reports in a process of their own."""
    fill_database(database, args)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(target=_child, args=(database.url, args.year, args.repeats, results))
    child.start()
    found = results.get()
    child.join()
    assert "error" not in found, found.get("error")
    assert found["officers"] == args.officers, "the roster is not the sample's"
    timings = {key: found[key] for key in ("figures_s", "charts_s", "pdf_s")}
    for key, values in timings.items():
        print(f"  {key:<10} {_spread(values)}")
    print(f"  pdf pages  {found['pages']}")
    medians = {key: round(statistics.median(values), 3) for key, values in timings.items()}
    return {
        "officers": args.officers,
        **medians,
        "peak_rss_mb": round(float(found["peak_rss_mb"]), 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, run, print; non-zero when the run went wrong."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    database_url: str | None = None
    if args.database_url:
        try:
            database_url = postgres_url(args.database_url)
        except ValueError as exc:
            print(f"bench: --database-url is invalid: {exc}", file=sys.stderr)
            return EXIT_USAGE
    backend = "PostgreSQL" if database_url else "SQLite"
    print(f"NuanJing yearly report on {backend}, {os.cpu_count()} CPUs, year {args.year}")
    try:
        with bench_database(database_url) as database:
            figures = measure(database, args)
    except AssertionError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    whole = float(figures["figures_s"]) + float(figures["charts_s"]) + float(figures["pdf_s"])
    for key, value in (
        ("figures_s", float(figures["figures_s"])),
        ("report_s", round(whole, 3)),
        ("peak_rss_mb", float(figures["peak_rss_mb"])),
    ):
        target = TARGETS[key]
        verdict = "met" if value < target else "NOT met"
        print(f"  {key:<12}{value} (target < {target:g}: {verdict})")
    print(f"  database    {backend}")
    print(json.dumps(figures), flush=True)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
