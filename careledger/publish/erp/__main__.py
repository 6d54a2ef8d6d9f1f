"""``python -m careledger.publish.erp --target oracle|d365|netsuite|json [--date D | --from D --to D] [--out DIR]``

The same arguments as ``careledger publish erp``; the CLI can reuse :func:`add_arguments`
and :func:`run`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import date
from pathlib import Path

from careledger.publish.erp.base import ExportValidationError
from careledger.publish.erp.publisher import PublishResult, publish_erp
from careledger.publish.erp.targets import TARGETS
from careledger.publish.posting import PostingError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", required=True, choices=TARGETS, help="ERP file format to write")
    parser.add_argument("--date", type=date.fromisoformat, help="one posting date (YYYY-MM-DD)")
    parser.add_argument("--from", dest="date_from", type=date.fromisoformat, help="first posting date")
    parser.add_argument("--to", dest="date_to", type=date.fromisoformat, help="last posting date")
    parser.add_argument("--out", type=Path, help="output folder (default $CARELEDGER_HOME/exports/erp)")
    parser.add_argument("--warehouse", type=Path, help="warehouse file (default $CARELEDGER_HOME/warehouse.duckdb)")


def run(args: argparse.Namespace) -> PublishResult:
    if args.date and (args.date_from or args.date_to):
        raise SystemExit("use either --date or --from/--to, not both")
    date_from = args.date or args.date_from
    date_to = args.date or args.date_to
    home = Path(os.environ.get("CARELEDGER_HOME", ".careledger")).expanduser().resolve()
    warehouse = args.warehouse or home / "warehouse.duckdb"
    out_dir = args.out or home / "exports" / "erp"
    return publish_erp(warehouse, args.target, out_dir, date_from=date_from, date_to=date_to)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m careledger.publish.erp", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = run(args)
    except (PostingError, ExportValidationError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    for path in result.files:
        print(f"  {path}")
    for held in result.held[:10]:
        print(f"  held back ({held.reason_code}): {held.message}")
    for rejection in result.rejections[:10]:
        print(f"  stopped by pre-validation: {rejection.sentence()}")
    return 3 if result.held_journals else 0  # 3: the other journals were written, some were held back


if __name__ == "__main__":
    raise SystemExit(main())
