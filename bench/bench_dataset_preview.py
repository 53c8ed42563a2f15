"""Benchmark: dataset preview+validate of a ~50 MB CSV against a plain pandas.read_csv of the same file.

Target: preview+validate (read the bytes, detect encoding and delimiter, parse, run every check,
build the preview) takes at most 1.5x `pd.read_csv(path)`. The two are timed alternately, several
times, and the median of the per-pair ratios is reported (the machine is shared and noisy). Peak
memory of each is measured in a fresh subprocess, as the peak RSS above the RSS after imports.

    .venv/bin/python bench/bench_dataset_preview.py [--size-mb 50] [--runs 5] [--strict]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python bench/bench_dataset_preview.py` from anywhere (make bench)

TARGET_RATIO = 1.5


def run_read_csv(path: Path) -> int:
    import pandas as pd

    return len(pd.read_csv(path))


def run_preview(path: Path) -> int:
    from services.dataset.parsing import parse_upload
    from services.dataset.validation import to_preview_dict, validate

    data = path.read_bytes()
    body = to_preview_dict(validate(parse_upload(data, path.name, max_bytes=len(data))))
    return body["statistics"]["total_rows"]


METHODS = {"read_csv": run_read_csv, "preview+validate": run_preview}


def timed(method: str, path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    rows = METHODS[method](path)
    return time.perf_counter() - started, rows


def peak_rss_bytes() -> int:
    """This process's peak RSS. /proc's VmHWM, because getrusage's ru_maxrss survives exec on Linux
    and would report the parent's peak in a fresh subprocess."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def peak_rss_mb(method: str, path: Path) -> tuple[float, float]:
    """(peak RSS, peak RSS minus RSS after imports) in MB, measured in a fresh interpreter."""
    code = (
        "import json, psutil, pandas\n"
        "import services.dataset.validation\n"
        "from bench.bench_dataset_preview import METHODS, peak_rss_bytes\n"
        "from pathlib import Path\n"
        "base = psutil.Process().memory_info().rss\n"
        f"METHODS[{method!r}](Path({str(path)!r}))\n"
        "peak = peak_rss_bytes()\n"
        "print(json.dumps([peak / 2**20, (peak - base) / 2**20]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    peak, above = json.loads(out.stdout.strip().splitlines()[-1])
    return peak, above


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=50.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--strict", action="store_true", help="exit 1 when the ratio misses the target")
    args = parser.parse_args(argv)

    from tests.dataset.corpus import generated_csv_of_size

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.csv"
        started = time.perf_counter()
        path.write_bytes(generated_csv_of_size(int(args.size_mb * 2**20)))
        print(f"file: {path.stat().st_size / 2**20:.1f} MB, generated in {time.perf_counter() - started:.1f}s")

        for method in METHODS:  # warm-up: imports, page cache
            timed(method, path)
        times: dict[str, list[float]] = {m: [] for m in METHODS}
        ratios = []
        for run in range(1, args.runs + 1):
            pair = {}
            for method in METHODS if run % 2 else reversed(METHODS):
                seconds, rows = timed(method, path)
                times[method].append(seconds)
                pair[method] = seconds
            ratios.append(pair["preview+validate"] / pair["read_csv"])
            print(f"run {run}: read_csv {pair['read_csv']:.3f}s, preview+validate {pair['preview+validate']:.3f}s, "
                  f"ratio {ratios[-1]:.2f}x ({rows} rows)")

        medians = {m: statistics.median(t) for m, t in times.items()}
        ratio = statistics.median(ratios)
        best = min(times["preview+validate"]) / min(times["read_csv"])
        print(f"median read_csv {medians['read_csv']:.3f}s, preview+validate {medians['preview+validate']:.3f}s; "
              f"ratio of the fastest runs {best:.2f}x")
        print(f"preview+validate / read_csv ratio: {ratio:.2f}x (target <= {TARGET_RATIO}x)")
        for method in METHODS:
            peak, above = peak_rss_mb(method, path)
            print(f"peak RSS {method}: {peak:.0f} MB ({above:.0f} MB above the interpreter after imports)")
    return 1 if args.strict and ratio > TARGET_RATIO else 0


if __name__ == "__main__":
    sys.exit(main())
