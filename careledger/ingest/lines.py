"""Exact line-by-line CSV parsing for files the DuckDB fast path cannot take whole.

Used when a strict DuckDB scan rejects rows (wrong field count, broken quoting, bad UTF-8)
or a quoted field spans lines. Record index = the physical line number of the record's first
line minus one (the header is line 1), so it equals the 1-based data line number whenever no
quoted field holds a line break. Blank lines are not records.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

BOM = "\ufeff"


@dataclass
class LineRecord:
    record_index: int
    raw_text: str
    fields: list[str] | None
    err_code: str | None = None
    err_msg: str | None = None


def read_header(path: Path) -> list[str]:
    """The header row's fields (BOM stripped)."""
    with path.open("rb") as fh:
        first = fh.readline(16 * 1024 * 1024)
    text = first.decode("utf-8", errors="replace").lstrip(BOM).rstrip("\r\n")
    try:
        return next(csv.reader([text]))
    except (csv.Error, StopIteration):
        return []


def parse_lines(path: Path, ncols: int, *, header: bool = True) -> list[LineRecord]:
    """Parse every data record; structural problems become ``err_code`` on the record."""
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    physical = raw.split(b"\n")
    if physical and physical[-1] == b"":
        physical.pop()
    lines: list[str | None] = []  # None = not UTF-8
    for b in physical:
        b = b.rstrip(b"\r")
        try:
            lines.append(b.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(None)
    records: list[LineRecord] = []
    i = 1 if header else 0
    offset = 0 if header else 1  # record index = line number - 1 with a header, else line number
    while i < len(lines):
        line = lines[i]
        index = i + offset
        if line is None:
            text = physical[i].rstrip(b"\r").decode("utf-8", errors="replace")
            records.append(LineRecord(index, text, None, "BAD_ENCODING", "the line is not valid UTF-8"))
            i += 1
            continue
        if not line.strip():
            i += 1
            continue
        if ncols == 1 and not header:
            records.append(LineRecord(index, line, [line]))
            i += 1
            continue
        buf, j = line, i
        single: list[str] | None = None  # the line read alone, when that gives the header's field count
        if '"' not in line or _field_count(line) == ncols:
            fields = _fields(line)
            if fields is not None and len(fields) == ncols:
                if line.count('"') % 2 == 0:
                    records.append(LineRecord(index, line, fields))
                    i += 1
                    continue
                # an odd number of quotes: a quoted field that goes on over the next lines (RFC
                # 4180), which the lenient reader would cut at the line end; tried first below
                single = fields
        while buf.count('"') % 2 == 1 and j + 1 < len(lines) and lines[j + 1] is not None:
            j += 1
            buf += "\n" + lines[j]
        if single is not None:
            joined = _strict_fields(buf) if j > i and buf.count('"') % 2 == 0 else None
            if joined is not None and len(joined) == ncols:
                records.append(LineRecord(index, buf, joined))
                i = j + 1
            else:  # no closing quote on a later line: a stray quote inside a field of this line
                records.append(LineRecord(index, line, single))
                i += 1
            continue
        if buf.count('"') % 2 == 1:
            records.append(LineRecord(index, line, None, "UNTERMINATED_QUOTE", "a quoted field never closes"))
            i += 1
            continue
        try:
            fields = next(csv.reader([buf], strict=True))
        except (csv.Error, StopIteration) as exc:
            if j > i:  # the quote pairing spanned lines but the record is broken: resume on the next line
                records.append(LineRecord(index, line, None, "UNTERMINATED_QUOTE", f"broken quoting ({exc})"))
                i += 1
                continue
            records.append(LineRecord(index, line, None, "BAD_QUOTING", f"broken quoting ({exc})"))
            i += 1
            continue
        if len(fields) != ncols:
            if j > i:
                records.append(LineRecord(index, line, None, "UNTERMINATED_QUOTE", "a quoted field never closes"))
                i += 1
                continue
            records.append(
                LineRecord(index, buf, None, "WRONG_COLUMN_COUNT", f"{len(fields)} fields, the header has {ncols}")
            )
            i += 1
            continue
        records.append(LineRecord(index, buf, fields))
        i = j + 1
    return records


def _fields(line: str) -> list[str] | None:
    try:
        return next(csv.reader([line]))
    except (csv.Error, StopIteration):
        return None


def _strict_fields(text: str) -> list[str] | None:
    try:
        return next(csv.reader([text], strict=True))
    except (csv.Error, StopIteration):
        return None


def _field_count(line: str) -> int:
    fields = _fields(line)
    return -1 if fields is None else len(fields)


class LineEnds:
    """Counts a file's line ends, chunk by chunk, to tell whether they are all of one kind.

    DuckDB's line scan detects one line end per file (``\\n`` or ``\\r\\n``) and, in strict
    mode, fails on a file that mixes them or holds a lone ``\\r``: "The CSV Parser state machine
    reached an invalid state" (found by tests/unit/ingest/test_fuzz_parsers.py); with strict
    mode off it splits such a file differently from the exact line parser and loses bytes. So
    only a file whose line ends are uniform (no ``\\r`` at all, or every ``\\r`` and every
    ``\\n`` in a ``\\r\\n`` pair) goes to DuckDB; the others take the exact line parser, which
    ends a line at ``\\n`` and drops one ``\\r`` before it.
    """

    def __init__(self) -> None:
        self.cr = self.lf = self.crlf = 0
        self._last = b""

    def add(self, chunk: bytes) -> None:
        self.cr += chunk.count(b"\r")
        self.lf += chunk.count(b"\n")
        self.crlf += chunk.count(b"\r\n") + (self._last == b"\r" and chunk[:1] == b"\n")
        self._last = chunk[-1:]

    @property
    def uniform(self) -> bool:
        return self.cr == 0 or self.cr == self.lf == self.crlf


def line_ends_uniform(data: bytes) -> bool:
    """True when ``data`` has one kind of line end (:class:`LineEnds`)."""
    ends = LineEnds()
    ends.add(data)
    return ends.uniform


def scan_safe(path: Path, chunk_size: int = 1 << 22) -> bool:
    """True when DuckDB's line scan cannot fail on the file: valid UTF-8, no ``\\x01`` bytes,
    and one kind of line end (see :class:`LineEnds`).

    A DuckDB error inside the landing transaction aborts the whole transaction, so loaders
    check this first (one streaming pass, about 1 GB/s) and send other files to the exact
    Python line parser instead.
    """
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    ends = LineEnds()
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_size):
            if b"\x01" in chunk:
                return False
            ends.add(chunk)
            if chunk.isascii() and not decoder.getstate()[0]:
                continue  # ASCII is valid UTF-8; checking that is ~20x cheaper than decoding
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return False
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return ends.uniform


def read_json_documents(path: Path, json_format: str = "auto"):
    """Every top-level JSON value of ``path`` as an Arrow table (doc_no, doc).

    Read on a private in-memory DuckDB connection: a malformed document raises
    ``duckdb.Error`` here without aborting the caller's landing transaction.
    """
    import duckdb

    from careledger.ingest.landing import duckdb_path

    scratch = duckdb.connect()
    try:
        quoted = duckdb_path(path)
        return scratch.execute(
            f"select row_number() over () as doc_no, json::varchar as doc "
            f"from read_json_objects({quoted}, format='{json_format}', maximum_object_size=1073741824)"
        ).to_arrow_table()
    finally:
        scratch.close()


def row_base(con, table: str) -> int | None:
    """The rowid of ``table``'s first row when its rowids are contiguous, else None.

    A table filled by one ``CREATE TABLE AS`` keeps the scan order (DuckDB preserves
    insertion order), so ``rowid - base`` is the 0-based position of a row without a window
    function. Inside a transaction rowids start at a large offset, hence the base.
    """
    lo, hi, n = con.execute(f"select min(rowid), max(rowid), count(*) from {table}").fetchone()
    if n == 0:
        return 0
    return lo if hi - lo + 1 == n else None
