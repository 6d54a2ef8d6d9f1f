"""The chargemaster: every billable item, its price, the payer-side fee and how often each
setting and service line uses it; plus vectorised sampling of claim line items."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from careledger.simulator.reference import Reference

# Revenue-code-only items used on inpatient claims: key, revenue code, unit price (cents), max units.
REVENUE_ONLY: list[tuple[str, str, int, int]] = [
    ("rev:0120", "0120", 310_000, 1),  # room and board semi-private, units = length of stay
    ("rev:0200", "0200", 640_000, 1),  # ICU, units = length of stay
    ("rev:0250", "0250", 18_500, 12),  # pharmacy
    ("rev:0270", "0270", 12_500, 10),  # med/surg supplies
    ("rev:0278", "0278", 860_000, 1),  # implants
    ("rev:0360", "0360", 420_000, 3),  # OR time
    ("rev:0370", "0370", 165_000, 2),  # anesthesia
    ("rev:0710", "0710", 98_000, 1),  # recovery room
]
# Real codes that the warehouse's seeds do not know (unmapped-code fault): code, revenue, fee.
UNMAPPED_ITEMS: list[tuple[str, str, int]] = [
    ("99417", "0510", 3_100),  # prolonged E/M
    ("G2211", "0510", 1_600),  # visit complexity add-on
    ("0241U", "0300", 14_200),  # PLA lab code
    ("98960", "0942", 2_700),  # self-management education (revenue code 0942 also unmapped)
]
MAX_UNITS = {"J9271": 200, "J2405": 8, "96415": 3, "90853": 1}

FIRST: dict[tuple[str, str], list[tuple[str, float]]] = {
    ("ed", "emergency"): [("99281", 5), ("99282", 10), ("99283", 30), ("99284", 35), ("99285", 20)],
    ("hosp_op", "oncology"): [("96413", 6), ("J9271", 2), ("77412", 3)],
    ("hosp_op", "general_surgery"): [
        ("45378", 3),
        ("45380", 3),
        ("43239", 3),
        ("47562", 1),
        ("49505", 1),
        ("44970", 1),
    ],
    ("hosp_op", "cardiology"): [("93458", 3), ("92928", 2), ("93306", 4), ("93015", 3)],
    ("hosp_op", "imaging"): [
        ("71046", 5),
        ("71045", 3),
        ("70450", 3),
        ("74177", 3),
        ("70553", 2),
        ("72148", 2),
        ("73721", 2),
        ("76700", 2),
        ("77067", 3),
        ("76805", 1),
    ],
    ("hosp_op", "lab"): [
        ("80053", 4),
        ("85025", 4),
        ("80061", 3),
        ("83036", 3),
        ("84443", 2),
        ("80048", 3),
        ("81001", 2),
        ("87086", 1),
        ("88305", 1),
    ],
    ("hosp_op", "pulmonology"): [("94010", 3), ("94060", 3), ("94640", 2), ("31622", 1)],
    ("hosp_op", "neurology"): [("95819", 3), ("95886", 2), ("95910", 2), ("64483", 2)],
    ("clinic", "primary_care"): [
        ("99213", 30),
        ("99214", 25),
        ("99212", 8),
        ("99215", 6),
        ("99203", 6),
        ("99204", 5),
        ("99202", 2),
        ("99205", 1),
        ("99211", 2),
        ("99396", 8),
        ("G0439", 7),
        ("10060", 1),
    ],
    ("clinic", "orthopedics"): [("20610", 4), ("29881", 1), ("99213", 3), ("99214", 3), ("99204", 1)],
    ("clinic", "womens_health"): [("76805", 3), ("57454", 2), ("59400", 1), ("77067", 2), ("99213", 3), ("99214", 2)],
    ("clinic", "behavioral_health"): [("90834", 5), ("90837", 4), ("90791", 2), ("90853", 2)],
    ("clinic", "cardiology"): [("93000", 3), ("93306", 3), ("93015", 2), ("93798", 2), ("99214", 3), ("99213", 2)],
    ("clinic", "neurology"): [("95910", 2), ("95886", 2), ("95819", 1), ("99214", 3), ("99204", 1)],
}
ANCILLARY: dict[str, list[tuple[str, float]]] = {
    "default": [
        ("80053", 3),
        ("85025", 3),
        ("36415", 4),
        ("80048", 2),
        ("81001", 1),
        ("84443", 1),
        ("83036", 1),
        ("71046", 1),
        ("93000", 1),
    ],
    "emergency": [
        ("36415", 5),
        ("85025", 4),
        ("80053", 4),
        ("84484", 2),
        ("71046", 3),
        ("70450", 2),
        ("74177", 2),
        ("93000", 3),
        ("93010", 2),
        ("96374", 3),
        ("J2405", 2),
        ("12001", 1),
        ("81001", 2),
    ],
    "oncology": [("96415", 3), ("J2405", 3), ("96374", 2), ("85025", 3), ("80053", 3), ("36415", 2), ("J9271", 1)],
    "cardiology": [("93000", 3), ("93010", 2), ("84484", 2), ("80061", 2), ("85025", 1), ("36415", 2), ("71046", 1)],
    "imaging": [("71045", 1), ("76700", 1), ("71046", 1)],
    "lab": [("36415", 5), ("85025", 2), ("80061", 2), ("83036", 1), ("84443", 1), ("87086", 1)],
    "general_surgery": [("88305", 4), ("85025", 2), ("80048", 2), ("36415", 2), ("J2405", 1)],
    "inpatient": [
        ("rev:0250", 8),
        ("rev:0270", 5),
        ("85025", 3),
        ("80053", 3),
        ("80048", 2),
        ("36415", 2),
        ("71046", 2),
        ("93000", 1),
        ("84484", 1),
        ("74177", 1),
        ("70450", 1),
        ("87086", 1),
    ],
}
SURGICAL_DRG_LINES = ["rev:0360", "rev:0370", "rev:0710"]
MODIFIERS: dict[str, list[str]] = {
    "27447": ["RT", "LT"],
    "27130": ["RT", "LT"],
    "29881": ["RT", "LT"],
    "20610": ["RT", "LT"],
    "73721": ["RT", "LT"],
    "64483": ["RT", "LT", "50"],
    "57454": [""],
    "93010": [""],
}
PROFESSIONAL_COMPONENT = ("70", "71", "72", "73", "74", "76", "77", "93306", "93458", "95")


@dataclass(frozen=True)
class Catalog:
    items: (
        pl.DataFrame
    )  # item_idx, key, procedure_code, revenue_code, price_cents, fee_cents, seed_fee_cents, max_units, is_mapped
    first_pools: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]
    anc_pools: dict[str, tuple[np.ndarray, np.ndarray]]
    unmapped_items: np.ndarray

    def idx(self, key: str) -> int:
        return self._index[key]  # type: ignore[attr-defined]

    def sample_first(self, rng: np.random.Generator, setting: np.ndarray, service_line: np.ndarray) -> np.ndarray:
        out = np.zeros(len(setting), dtype=np.int64)
        for key in sorted(self.first_pools):
            m = (setting == key[0]) & (service_line == key[1])
            k = int(m.sum())
            if k:
                items, p = self.first_pools[key]
                out[m] = items[rng.choice(len(items), size=k, p=p)]
        missing = out == 0
        if missing.any():
            items, p = self.anc_pools["default"]
            out[missing] = items[rng.choice(len(items), size=int(missing.sum()), p=p)]
        return out

    def sample_pools(self, rng: np.random.Generator, codes: np.ndarray, names: list[str]) -> np.ndarray:
        """Sample one item per row from the ancillary pool ``names[codes[row]]``."""
        out = np.zeros(len(codes), dtype=np.int64)
        for k, name in enumerate(names):
            m = codes == k
            cnt = int(m.sum())
            if cnt:
                items, p = self.anc_pools.get(name, self.anc_pools["default"])
                out[m] = items[rng.choice(len(items), size=cnt, p=p)]
        return out


def build_catalog(rng: np.random.Generator, ref: Reference) -> Catalog:
    procs = ref.procedure_codes
    n = procs.height
    markup = rng.uniform(2.4, 3.8, n)
    price = (np.ceil(procs["fee_cents"].to_numpy() * markup / 100.0) * 100).astype(np.int64)
    rows = pl.DataFrame(
        {
            "key": procs["procedure_code"],
            "procedure_code": procs["procedure_code"],
            "revenue_code": procs["revenue_code"],
            "price_cents": price,
            "fee_cents": procs["fee_cents"],
            "seed_fee_cents": procs["fee_cents"],
            "max_units": [MAX_UNITS.get(c, 1) for c in procs["procedure_code"].to_list()],
            "is_mapped": [True] * n,
        }
    )
    rev = pl.DataFrame(
        {
            "key": [r[0] for r in REVENUE_ONLY],
            "procedure_code": [""] * len(REVENUE_ONLY),
            "revenue_code": [r[1] for r in REVENUE_ONLY],
            "price_cents": [r[2] for r in REVENUE_ONLY],
            "fee_cents": [0] * len(REVENUE_ONLY),
            "seed_fee_cents": [0] * len(REVENUE_ONLY),
            "max_units": [r[3] for r in REVENUE_ONLY],
            "is_mapped": [True] * len(REVENUE_ONLY),
        }
    )
    um = pl.DataFrame(
        {
            "key": [r[0] for r in UNMAPPED_ITEMS],
            "procedure_code": [r[0] for r in UNMAPPED_ITEMS],
            "revenue_code": [r[1] for r in UNMAPPED_ITEMS],
            "price_cents": [int(np.ceil(r[2] * 3.0 / 100) * 100) for r in UNMAPPED_ITEMS],
            "fee_cents": [r[2] for r in UNMAPPED_ITEMS],
            "seed_fee_cents": [0] * len(UNMAPPED_ITEMS),
            "max_units": [1] * len(UNMAPPED_ITEMS),
            "is_mapped": [False] * len(UNMAPPED_ITEMS),
        }
    )
    items = pl.concat(
        [
            rows.cast(
                {"price_cents": pl.Int64, "fee_cents": pl.Int64, "seed_fee_cents": pl.Int64, "max_units": pl.Int64}
            ),
            rev.cast(
                {"price_cents": pl.Int64, "fee_cents": pl.Int64, "seed_fee_cents": pl.Int64, "max_units": pl.Int64}
            ),
            um.cast(
                {"price_cents": pl.Int64, "fee_cents": pl.Int64, "seed_fee_cents": pl.Int64, "max_units": pl.Int64}
            ),
        ]
    )
    # Item 0 is a sentinel row so that index 0 can mean "no item chosen" in the sampled arrays.
    sentinel = items.head(1).with_columns(pl.lit("__none__").alias("key"))
    items = pl.concat([sentinel, items]).with_row_index("item_idx").with_columns(pl.col("item_idx").cast(pl.Int64))
    index = {k: i for i, k in enumerate(items["key"].to_list())}

    def pool(entries: list[tuple[str, float]]) -> tuple[np.ndarray, np.ndarray]:
        ids = np.array([index[k] for k, _ in entries], dtype=np.int64)
        w = np.array([w for _, w in entries], dtype=float)
        return ids, w / w.sum()

    cat = Catalog(
        items=items,
        first_pools={k: pool(v) for k, v in FIRST.items()},
        anc_pools={k: pool(v) for k, v in ANCILLARY.items()},
        unmapped_items=np.array([index[r[0]] for r in UNMAPPED_ITEMS], dtype=np.int64),
    )
    object.__setattr__(cat, "_index", index)
    return cat
