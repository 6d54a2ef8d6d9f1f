"""Reference data shared with the dbt project (``seeds/*.csv``) plus small formatting helpers.

The simulator reads the same seed files that dbt loads, so the codes it emits and the
mappings the warehouse applies come from one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from careledger.config import SEEDS_DIR

UNMAPPED = "UNMAPPED"


def _read_seed(name: str, seeds_dir: Path) -> pl.DataFrame:
    # Every seed column is read as text: codes keep their zero padding.
    return pl.read_csv(seeds_dir / f"{name}.csv", infer_schema=False)


@dataclass(frozen=True)
class Reference:
    """The seed tables the simulator needs, with typed columns."""

    payer_classes: pl.DataFrame
    service_lines: pl.DataFrame
    ms_drgs: pl.DataFrame
    service_line_procedure_ranges: pl.DataFrame
    procedure_codes: pl.DataFrame
    revenue_codes: pl.DataFrame
    revenue_categories: pl.DataFrame
    carc_categories: pl.DataFrame
    place_of_service: pl.DataFrame

    @classmethod
    def load(cls, seeds_dir: Path = SEEDS_DIR) -> Reference:
        drgs = _read_seed("ms_drgs", seeds_dir).with_columns(pl.col("weight").cast(pl.Float64))
        procs = _read_seed("procedure_codes", seeds_dir).with_columns(
            fee_cents=(pl.col("fee_schedule_amount").cast(pl.Decimal(18, 2)) * 100).cast(pl.Int64)
        )
        ranges = _read_seed("service_line_procedure_ranges", seeds_dir).with_columns(pl.col("priority").cast(pl.Int64))
        return cls(
            payer_classes=_read_seed("payer_classes", seeds_dir),
            service_lines=_read_seed("service_lines", seeds_dir),
            ms_drgs=drgs,
            service_line_procedure_ranges=ranges,
            procedure_codes=procs,
            revenue_codes=_read_seed("revenue_codes", seeds_dir),
            revenue_categories=_read_seed("revenue_categories", seeds_dir),
            carc_categories=_read_seed("carc_categories", seeds_dir),
            place_of_service=_read_seed("place_of_service", seeds_dir),
        )

    def procedure_service_line(self, codes: pl.Series) -> pl.Series:
        """Service line of each procedure code by the range rule (lowest priority wins)."""
        ranges = self.service_line_procedure_ranges.sort("priority", "range_start", maintain_order=True)
        out = pl.Series("service_line_code", [None] * len(codes), dtype=pl.Utf8)
        arr = codes.fill_null("")
        for start, end, line in ranges.select("range_start", "range_end", "service_line_code").iter_rows():
            hit = out.is_null() & (arr.str.len_chars() == 5) & (arr >= start) & (arr <= end)
            out = pl.select(pl.when(hit).then(pl.lit(line)).otherwise(out)).to_series()
        return out.alias("service_line_code")


# ----------------------------------------------------------------- formatting helpers


def money(col: str | pl.Expr) -> pl.Expr:
    """Integer cents -> ``-123.45`` text (exact; no float involved)."""
    c = pl.col(col) if isinstance(col, str) else col
    a = c.abs()
    sign = pl.when(c < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, (a // 100).cast(pl.Utf8), pl.lit("."), (a % 100).cast(pl.Utf8).str.zfill(2)])


def cents_to_str(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    a = abs(int(cents))
    return f"{sign}{a // 100}.{a % 100:02d}"


def npi_check_digit(base9: np.ndarray) -> np.ndarray:
    """Luhn check digit of 9-digit NPI bases, with the 80840 card-issuer prefix (adds 24)."""
    digits = np.stack([(base9 // 10 ** (8 - i)) % 10 for i in range(9)], axis=1)
    # Double every other digit starting from the rightmost of the 9 (position 8).
    doubled = digits.copy()
    for i in (8, 6, 4, 2, 0):
        d = digits[:, i] * 2
        doubled[:, i] = np.where(d > 9, d - 9, d)
    total = doubled.sum(axis=1) + 24
    return (10 - total % 10) % 10


def make_npis(rng: np.random.Generator, n: int, first_digit: int) -> list[str]:
    """``n`` distinct Luhn-valid NPIs starting with ``first_digit`` (1 person, 2 organization)."""
    bases = rng.choice(10**8, size=n, replace=False).astype(np.int64) + first_digit * 10**8
    check = npi_check_digit(bases)
    return [f"{b}{c}" for b, c in zip(bases.tolist(), check.tolist(), strict=True)]


def npi_is_valid(npi: str) -> bool:
    """NPI Luhn check with the 80840 prefix."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    digits = [int(d) for d in "80840" + npi]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0
