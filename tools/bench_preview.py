"""Benchmark: wall time of the offline preview of every shipped stack (target < 30 s).

    python -m tools.bench_preview [--repeat N]

Measures what `python -m tools.preview --all` does in one process: load the pack from
policy/__main__.py, run each stack under mocks, evaluate it through the analyzer servicer. Prints
per-stack and total times; exit 0 under the target, 1 over it. A script, not a timed test.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 30.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_preview", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="repeat the whole run N times, report the slowest")
    parser.add_argument("--mode", choices=("update", "preview"), default="update", help="as tools.preview --mode")
    args = parser.parse_args(argv)

    from tools.preview import _quiet_runtime_noise, preview_stack, shipped_stack_names

    _quiet_runtime_noise()
    worst = 0.0
    for attempt in range(1, args.repeat + 1):
        start = time.perf_counter()
        from policy.analyzer import OfflineAnalyzer

        analyzer = OfflineAnalyzer()
        loaded = time.perf_counter()
        print(f"run {attempt}: load pack {loaded - start:6.2f} s")
        mandatory = 0
        for stack in shipped_stack_names():
            t0 = time.perf_counter()
            report = preview_stack(stack, analyzer, mode=args.mode)
            mandatory += report["mandatory"]
            print(f"run {attempt}: {stack:<14} {time.perf_counter() - t0:6.2f} s  "
                  f"{len(report['resources']):3d} resources, {report['mandatory']} mandatory violation(s)")
        total = time.perf_counter() - start
        worst = max(worst, total)
        print(f"run {attempt}: total {total:6.2f} s ({'PASS' if mandatory == 0 else 'FAIL'}: {mandatory} mandatory)")
    verdict = "under" if worst < TARGET_SECONDS else "OVER"
    print(f"offline preview of all stacks: {worst:.2f} s, {verdict} the {TARGET_SECONDS:.0f} s target")
    return 0 if worst < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
