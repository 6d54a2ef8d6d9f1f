"""SQL text careledger builds itself: every path or value put into a statement goes through
:func:`literal`, never into an f-string as it is.

DuckDB takes a few things only as literals, not as bound parameters (``ATTACH`` and
``COPY ... TO`` paths, table-function arguments in generated statements), so a home folder
named ``o'brien`` must still make one valid statement naming exactly that folder. A SQL string
literal doubles its single quotes and needs nothing else in DuckDB (no backslash escapes).
Paths given to DuckDB's *reading* table functions also need their glob characters made literal:
``careledger.ingest.landing.duckdb_path``.
"""

from __future__ import annotations

from pathlib import PurePath


def literal(value: str | PurePath) -> str:
    """``value`` as a SQL string literal: ``o'brien`` -> ``'o''brien'``."""
    return "'" + str(value).replace("'", "''") + "'"
