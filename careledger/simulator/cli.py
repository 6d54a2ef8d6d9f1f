"""``careledger synth``: argument wiring for the simulator (the lead mounts it on the CLI).

parser = subparsers.add_parser("synth", help="write a simulated landing folder")
add_arguments(parser)
...
run_from_args(args)
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from careledger.simulator.simulator import STAGES, SynthResult, synthesize


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 0.5:
        raise argparse.ArgumentTypeError(f"expected a rate in [0, 0.5), got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="landing folder to write (emptied first)")
    parser.add_argument("--encounters", type=int, default=2000, help="number of encounters (default 2000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed; same seed and options give identical files")
    parser.add_argument("--start-date", type=_date, default=date(2026, 1, 1), help="first service day (YYYY-MM-DD)")
    parser.add_argument(
        "--days", type=int, default=90, help="days simulated; events on or after start+days are not exported"
    )
    parser.add_argument("--facilities", type=int, default=4, help="facilities (about half hospitals, half clinics)")
    parser.add_argument(
        "--faults", type=_rate, default=0.0, help="per-record rate of each injected fault kind (default 0)"
    )
    parser.add_argument(
        "--unmapped-share", type=_rate, default=0.02, help="share of crosswalk rows left out (default 0.02)"
    )
    parser.add_argument(
        "--dft-share",
        type=_rate,
        default=0.3,
        help="share of claimed encounters whose EHR charges the HL7 feed carries as DFT^P03 (default 0.3)",
    )
    parser.add_argument(
        "--bar-share",
        type=_rate,
        default=0.3,
        help="share of encounters (claimed, and not yet billed) whose account events the HL7 feed carries as BAR^P01/P05/P12 (default 0.3)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run_from_args(args: argparse.Namespace) -> SynthResult:
    show = sys.stderr.isatty() and not args.json
    progress = None
    bar = None
    if show:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task("synthesizing", total=len(STAGES))

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, completed=done, description=f"synth: {stage}")

    try:
        result = synthesize(
            args.out,
            encounters=args.encounters,
            seed=args.seed,
            start_date=args.start_date,
            days=args.days,
            facilities=args.facilities,
            faults=args.faults,
            unmapped_share=args.unmapped_share,
            dft_share=args.dft_share,
            bar_share=args.bar_share,
            progress=progress,
        )
    finally:
        if bar is not None:
            bar.stop()
    summary = {
        "out_dir": str(result.out_dir),
        "elapsed_seconds": round(result.elapsed_seconds, 2),
        "ground_truth": str(result.ground_truth),
        "files": result.files,
        "rows": result.rows,
        "faults": result.faults,
    }
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(f"wrote {sum(result.files.values())} files to {result.out_dir} in {result.elapsed_seconds:.1f}s")
        for folder, n in result.files.items():
            print(f"  {folder:<20} {n:>6} files")
        print(f"ground truth: {result.ground_truth}")
        if result.faults:
            print("faults: " + ", ".join(f"{k}={v}" for k, v in sorted(result.faults.items())))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="careledger synth", description="Write a simulated health-system landing folder."
    )
    add_arguments(parser)
    run_from_args(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
