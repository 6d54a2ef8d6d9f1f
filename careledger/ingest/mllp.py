"""The MLLP listener: real-time HL7 v2 from interface engines, durable before it acknowledges.

``careledger listen`` runs ``Listener``. For every MLLP frame (``0x0b`` message ``0x1c 0x0d``)
on a connection, one at a time per connection:

1. the message is assessed without a database (``assess``): transport checks (one message per
   frame, a readable MSH, a supported MSH-9 type and event, processing id, version), then the
   checks its loader makes when it lands (``check_message`` of ``careledger.ingest.hl7.adt`` /
   ``dft`` / ``bar``);
2. a message to accept is put on a bounded queue (``queue_size``; a full queue stops reading
   from the connection, so TCP pushes back on the sender instead of memory growing);
3. one writer task appends the queued messages to the journal
   (``$CARELEDGER_HOME/mllp/journal.ndjson``) and fsyncs it, skipping any (sending facility,
   MSH-10) already in the journal (a resend after a lost ACK);
4. only then is the acknowledgement written.

Acknowledgements (``build_ack``): MSH-3/4 and MSH-5/6 swapped, MSH-9 ``ACK^<trigger>^ACK``, a
new MSH-10, MSH-11/12 echoed, MSA-1 the code, MSA-2 the original MSH-10, ERR segments for
what is wrong. Original mode: ``AA`` accepted; ``AE`` accepted, but a warning the loader
will record as a finding (it lands with it); ``AR`` rejected (an unsupported type, event,
processing id or version, a frame without a readable message, or a message its loader would
quarantine), not journaled, so the sender's interface engine keeps it in its error queue.
Enhanced mode (MSH-15 or MSH-16 valued): a commit acknowledgement ``CA`` (stored) / ``CR``
(rejected) / ``CE`` (could not be stored) sent as MSH-15 asks (AL always, NE never, ER only
CE/CR, SU only CA; empty = AL); then, when MSH-16 asks (same codes), the application
acknowledgement (``AA``/``AE``/``AR``) on the same connection.

A message that cannot be stored (the journal's disk fails) is not acknowledged in original mode
(the connection is closed, the sender resends); in enhanced mode it gets ``CE``.

A lander thread lands the journal into the warehouse in micro-batches (every
``batch_messages`` messages or ``batch_seconds`` seconds): the next slice of the journal is
written as one HL7 file ``landing/ehr/adt/mllp_<from>_<to>.hl7`` (the offsets in the journal)
and landed with ``run.land_file``: one transaction, batch lineage, quarantine, findings and
the sha256 idempotency of every file. The landed offset is kept in ``mllp/state.json``; after a
crash the pending slice file is landed again (skipped when its sha256 landed already), so a
message lands exactly once. The drop-folder sensor sees the slice file and runs the same
``adt_refresh`` Dagster job for the encounter models downstream.

SIGTERM (or SIGINT) stops accepting connections, lets each connection finish the message it
is on, drains the queue into the journal, lands what is pending and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from careledger.config import kill_if_asked
from careledger.ingest.hl7 import router
from careledger.ingest.hl7.transport import (
    Header,
    HeaderError,
    MllpDecoder,
    RawMessage,
    decode_hl7_bytes,
    frame,
    parse_msh,
    split_messages,
)
from careledger.ingest.landing import Finding, IngestError, connect, ensure_schema
from careledger.ingest.run import land_file

log = logging.getLogger(__name__)

DEFAULT_PORT = 2575
ACCEPTED_PROCESSING_IDS = ("P",)
SLICE_PREFIX = "mllp_"
MAX_ERR_SEGMENTS = 10

# HL7 table 0357 (message error condition codes) for the ERR segment
ERR_CODES = {
    "101": "Required field missing",
    "102": "Data type error",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "202": "Unsupported processing id",
    "203": "Unsupported version id",
    "207": "Application internal error",
}


# ---------------------------------------------------------------------------- assessment


@dataclass
class ErrItem:
    code: str
    severity: str  # E | W | I
    text: str
    location: str = ""


@dataclass
class Assessment:
    """What the listener answers for one frame."""

    accepted: bool
    code: str  # AA | AE | AR
    header: Header | None
    text: str
    errors: list[ErrItem] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str] | None:
        """The dedupe key: (sending facility MSH-4, control id MSH-10); None without a control id."""
        if self.header is None or not self.header.control_id:
            return None
        return (self.header.field(4), self.header.control_id)


def _err_code(rule: str) -> str:
    if rule.startswith("MISSING_"):
        return "101"
    if rule.startswith("BAD_") or rule in ("AMOUNT_MISMATCH", "NUMBER_ROUNDED"):
        return "102"
    return "207"


def assess(payload: bytes, *, source_name: str = "MLLP") -> Assessment:
    """Decide AA / AE / AR for one frame's payload, as its loader would land it."""
    text, decode_findings = decode_hl7_bytes(payload, source_name)
    text = text.strip("\r\n ")
    messages, _ = split_messages(text, source_name)
    header: Header | None = None
    if messages and messages[0].has_msh:
        with contextlib.suppress(HeaderError):
            header = parse_msh(messages[0].lines[0])

    def reject(code: str, message: str, location: str = "") -> Assessment:
        return Assessment(False, "AR", header, text, [ErrItem(code, "E", message, location)])

    if header is None:
        return reject("207", "the frame does not hold an HL7 v2 message with a readable MSH segment", "MSH")
    if len(messages) != 1:
        return reject("207", f"the frame holds {len(messages)} messages; send one message per frame")
    mtype, event = header.message_type, header.trigger_event
    module = router.LOADERS.get(mtype)
    if module is None:
        return reject(
            "200",
            f"message type {mtype or '(empty)'} is not accepted; careledger takes {', '.join(router.LOADERS)}",
            "MSH^1^9^1",
        )
    if event not in module.KNOWN_EVENTS:
        return reject(
            "201", f"event {mtype}^{event or '(empty)'} is not accepted ({', '.join(module.KNOWN_EVENTS)})", "MSH^1^9^2"
        )
    if header.processing_id not in ACCEPTED_PROCESSING_IDS:
        return reject(
            "202", f"processing id {header.processing_id or '(empty)'} is not accepted (production: P)", "MSH^1^11"
        )
    if not header.version.startswith("2."):
        return reject("203", f"HL7 version {header.version or '(empty)'} is not v2.x", "MSH^1^12")
    raw = RawMessage(1, messages[0].lines, True)
    quarantined, findings = module.check_message(raw, source_name)
    if quarantined is not None:
        return reject("207", f"{quarantined.reason_code}: {quarantined.message}")
    serious = [f for f in decode_findings + findings if f.severity in ("warning", "error")]
    errors = [_err_item(f) for f in serious]
    return Assessment(True, "AE" if serious else "AA", header, text, errors)


def _err_item(f: Finding) -> ErrItem:
    severity = "E" if f.severity == "error" else "W"
    return ErrItem(_err_code(f.rule), severity, f"{f.rule}: {f.message}", _error_location(f.location or ""))


_LOCATION = re.compile(r"^([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?(?:-(\d+))?$")


def _error_location(location: str) -> str:
    """A loader's finding location (``PV1-19``, ``FT1[2]-11``) as an ERR-2 ERL (``PV1^1^19``)."""
    m = _LOCATION.match(location)
    if not m:
        return ""
    seg, n, fld = m.groups()
    return "^".join(p for p in (seg, n or "1", fld) if p)


# ---------------------------------------------------------------------------- acknowledgements


_ack_counter = iter(range(1, 1 << 62))


def new_control_id() -> str:
    return f"CL{uuid.uuid4().hex[:12].upper()}{next(_ack_counter) % 1_000_000:06d}"


def build_ack(header: Header | None, code: str, *, text: str = "", errors: list[ErrItem] | None = None) -> bytes:
    """An ACK for ``header``'s message (default delimiters when the MSH could not be read)."""
    sep = header.field_separator if header else "|"
    enc = header.encoding_characters if header else "^~\\&"
    comp = enc[0]
    esc = enc[2] if len(enc) > 2 else "\\"

    def e(value: str) -> str:
        out = value.replace(esc, f"{esc}E{esc}").replace(sep, f"{esc}F{esc}").replace(comp, f"{esc}S{esc}")
        out = out.replace(enc[1], f"{esc}R{esc}")
        if len(enc) > 3:
            out = out.replace(enc[3], f"{esc}T{esc}")
        return out.replace("\r", " ").replace("\n", " ")

    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    h = header
    msh = [
        "MSH",
        enc,
        h.field(5) if h else "CARELEDGER",
        h.field(6) if h else "",
        h.field(3) if h else "",
        h.field(4) if h else "",
        now,
        "",
        f"ACK{comp}{h.trigger_event}{comp}ACK" if h and h.trigger_event else "ACK",
        new_control_id(),
        h.field(11) if h and h.field(11) else "P",
        h.field(12) if h and h.field(12) else "2.5",
    ]
    msa = ["MSA", code, h.control_id if h else ""]
    if text:
        msa.append(e(text[:80]))
    segments = [sep.join(msh), sep.join(msa)]
    for item in (errors or [])[:MAX_ERR_SEGMENTS]:
        location = comp.join(e(p) for p in item.location.split("^")) if item.location else ""
        err = ["ERR", "", location, comp.join((item.code, e(ERR_CODES.get(item.code, "")), "HL70357")), item.severity]
        err += ["", "", "", e(item.text[:200])]
        segments.append(sep.join(err))
    return ("\r".join(segments) + "\r").encode("utf-8")


def _wants(ack_type: str, ok: bool) -> bool:
    """MSH-15/16: AL always, NE never, ER only on error/reject, SU only on success (empty = AL)."""
    ack_type = (ack_type or "AL").upper()
    return ack_type == "AL" or (ack_type == "ER" and not ok) or (ack_type == "SU" and ok)


def responses(assessment: Assessment, stored: bool, duplicate: bool = False) -> list[bytes]:
    """The ACK message(s) to send back for one frame, after storing (or rejecting) it."""
    h = assessment.header
    note = "duplicate of a message already received; stored once" if duplicate else ""
    if h is None or not h.enhanced_mode:
        if assessment.accepted and not stored:
            return []  # original mode: no ACK, the sender resends
        return [build_ack(h, assessment.code, text=note, errors=assessment.errors)]
    out: list[bytes] = []
    if not assessment.accepted:
        commit = "CR"
    else:
        commit = "CA" if stored else "CE"
    ok = commit == "CA"
    if _wants(h.accept_ack_type, ok):
        errors = assessment.errors if commit == "CR" else []
        if commit == "CE":
            errors = [ErrItem("207", "E", "the message could not be stored; resend it")]
        out.append(build_ack(h, commit, text=note, errors=errors))
    if commit != "CE" and h.application_ack_type and _wants(h.application_ack_type, assessment.code == "AA"):
        out.append(build_ack(h, assessment.code, text=note, errors=assessment.errors))
    return out


# ---------------------------------------------------------------------------- the journal


class Journal:
    """Append-only NDJSON journal of accepted messages; durable (fsync) before anything is ACKed.

    One line per message: ``{"f": sending facility, "c": MSH-10, "at": received, "m": text}``.
    A line cut short by a crash (no newline, or not JSON) is truncated away on open: its
    message was never acknowledged, so the sender resends it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.keys: set[tuple[str, str]] = set()
        self.count = 0
        good = 0
        if path.exists():
            with path.open("rb") as fh:
                for line in fh:
                    if not line.endswith(b"\n"):
                        break
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        break
                    if rec.get("c"):
                        self.keys.add((rec["f"], rec["c"]))
                    self.count += 1
                    good += len(line)
            if good != path.stat().st_size:
                log.warning(
                    "journal %s: a partly written last line (%d bytes) was cut off", path, path.stat().st_size - good
                )
                with path.open("r+b") as fh:
                    fh.truncate(good)
                    os.fsync(fh.fileno())
        self._fh = path.open("ab")
        _fsync_dir(path.parent)
        self.durable_size = good  # bytes of complete, fsynced lines

    def append(self, records: list[tuple[tuple[str, str] | None, str]]) -> list[bool]:
        """Append the messages not yet in the journal, fsync once; True where a message was a duplicate."""
        duplicate: list[bool] = []
        lines: list[bytes] = []
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        batch_keys: set[tuple[str, str]] = set()
        for key, text in records:
            if key is not None and (key in self.keys or key in batch_keys):
                duplicate.append(True)
                continue
            duplicate.append(False)
            if key is not None:
                batch_keys.add(key)
            rec = {"f": key[0] if key else "", "c": key[1] if key else "", "at": now, "m": text}
            lines.append(json.dumps(rec, ensure_ascii=False).encode("utf-8") + b"\n")
        if lines:
            self._fh.write(b"".join(lines))
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self.durable_size = self._fh.tell()
            self.keys |= batch_keys
            self.count += len(lines)
        return duplicate

    def close(self) -> None:
        self._fh.close()


def read_slice(path: Path, start: int, end: int) -> list[str]:
    """The messages of the journal's complete lines in byte range [start, end)."""
    with path.open("rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    return [json.loads(line)["m"] for line in data.splitlines() if line.strip()]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------- the lander


class Lander:
    """Lands the journal into the warehouse in micro-batches (one file, one transaction each)."""

    def __init__(
        self,
        journal_path: Path,
        state_path: Path,
        slices: Path,
        warehouse: Path,
        *,
        writer_lock: Callable[[], AbstractContextManager] = contextlib.nullcontext,
    ) -> None:
        self.journal_path = journal_path
        self.state_path = state_path
        self.slices = slices
        self.warehouse = warehouse
        self.writer_lock = writer_lock
        self.batches_landed = 0
        self.messages_landed = 0

    def landed_offset(self) -> int:
        if not self.state_path.exists():
            return 0
        return int(json.loads(self.state_path.read_text())["landed_offset"])

    def _save(self, offset: int) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        with tmp.open("w") as fh:
            json.dump({"landed_offset": offset, "at": datetime.now(UTC).isoformat()}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.state_path)
        _fsync_dir(self.state_path.parent)

    def pending(self) -> list[tuple[int, int, Path]]:
        """Slice files written but not yet recorded as landed, in journal order."""
        landed = self.landed_offset()
        out = []
        for p in self.slices.glob(f"{SLICE_PREFIX}*.hl7"):
            try:
                start, end = (int(x) for x in p.stem[len(SLICE_PREFIX) :].split("_"))
            except ValueError:
                continue
            if end > landed:
                out.append((start, end, p))
        return sorted(out)

    def land_pending(self, journal_end: int) -> int:
        """Land any slice left from before, then the journal up to ``journal_end``; messages landed."""
        landed_messages = 0
        slices = self.pending()
        offset = slices[-1][1] if slices else self.landed_offset()
        if journal_end > offset:
            messages = read_slice(self.journal_path, offset, journal_end)
            if messages:
                slices.append((offset, journal_end, self._write_slice(offset, journal_end, messages)))
        if not slices:
            return 0
        with self.writer_lock():
            con = connect(self.warehouse, wait_seconds=60)
            try:
                ensure_schema(con)
                for _, end, path in slices:
                    result = land_file(con, path, source="hl7")
                    if result.status == "failed":
                        raise IngestError(f"MLLP micro-batch {path.name} failed to land: {result.message}")
                    log.info(
                        "micro-batch %s %s: read=%d accepted=%d quarantined=%d",
                        path.name,
                        result.status,
                        result.records_read,
                        result.records_accepted,
                        result.records_quarantined,
                    )
                    kill_if_asked("mllp", "before_landed_offset")  # slice committed, offset not saved
                    self._save(end)
                    self.batches_landed += result.status != "skipped"
                    landed_messages += result.records_read
            finally:
                con.close()
        self.messages_landed += landed_messages
        return landed_messages

    def _write_slice(self, start: int, end: int, messages: list[str]) -> Path:
        self.slices.mkdir(parents=True, exist_ok=True)
        path = self.slices / f"{SLICE_PREFIX}{start:012d}_{end:012d}.hl7"
        tmp = path.with_name("." + path.name + ".tmp")  # hidden: ingest skips dot files
        with tmp.open("wb") as fh:
            fh.write("".join(m.rstrip("\r") + "\r" for m in messages).encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(self.slices)
        return path


# ---------------------------------------------------------------------------- the server


@dataclass
class ListenerConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    batch_messages: int = 500
    batch_seconds: float = 5.0
    queue_size: int = 1000
    ssl_context: ssl.SSLContext | None = None
    land: bool = True


@dataclass
class ConnectionStats:
    messages: int = 0
    codes: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0


class Listener:
    """An asyncio MLLP server over a journal and a lander thread (see the module docstring)."""

    def __init__(
        self,
        root: Path,
        warehouse: Path,
        landing: Path,
        config: ListenerConfig,
        *,
        writer_lock: Callable[[], AbstractContextManager] = contextlib.nullcontext,
    ) -> None:
        self.config = config
        folder = root / "mllp"
        self.journal = Journal(folder / "journal.ndjson")
        self.lander = Lander(
            self.journal.path, folder / "state.json", landing / "ehr" / "adt", warehouse, writer_lock=writer_lock
        )
        self.queue: asyncio.Queue | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._land_now = threading.Event()
        self._lander_stop = threading.Event()
        self._lander_error: BaseException | None = None
        self._connections: set[asyncio.Task] = set()
        self.port: int | None = None
        self.received = 0
        self.stored = 0
        self.ack_latencies: list[float] = []

    # -- lifecycle

    def run(self, on_ready: Callable[[int], None] | None = None, *, signals: bool = True) -> int:
        """Serve until SIGTERM/SIGINT (or ``stop()``); returns the exit code."""
        return asyncio.run(self._main(on_ready, signals))

    def stop(self) -> None:
        """Ask a running listener (in another thread) to drain and stop, as SIGTERM does."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)

    async def _main(self, on_ready: Callable[[int], None] | None, signals: bool) -> int:
        loop = self._loop = asyncio.get_running_loop()
        self.queue = asyncio.Queue(maxsize=self.config.queue_size)
        self._stopping = asyncio.Event()
        if signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._stopping.set)
        lander = threading.Thread(target=self._lander_loop, name="mllp-lander", daemon=True)
        if self.config.land:
            lander.start()
        writer = asyncio.create_task(self._writer())
        server = await asyncio.start_server(
            self._on_connection, self.config.host, self.config.port, ssl=self.config.ssl_context, limit=1 << 20
        )
        self.port = server.sockets[0].getsockname()[1]
        log.info(
            "MLLP listener on %s:%d (%s), journal %s",
            self.config.host,
            self.port,
            "TLS" if self.config.ssl_context else "plain TCP",
            self.journal.path,
        )
        if on_ready:
            on_ready(self.port)
        await self._stopping.wait()
        log.info("stopping: no new connections; draining %d queued messages", self.queue.qsize())
        server.close()
        await server.wait_closed()
        if self._connections:
            _, still = await asyncio.wait(self._connections, timeout=10)
            for task in still:
                task.cancel()
        await self.queue.join()
        writer.cancel()
        self.journal.close()
        if self.config.land:
            self._lander_stop.set()
            self._land_now.set()
            await asyncio.to_thread(lander.join)
        log.info(
            "stopped: %d frames received, %d messages stored, %d micro-batches landed",
            self.received,
            self.stored,
            self.lander.batches_landed,
        )
        return 1 if self._lander_error else 0

    def _lander_loop(self) -> None:
        while True:
            self._land_now.wait(self.config.batch_seconds)
            self._land_now.clear()
            stop = self._lander_stop.is_set()
            try:
                self.lander.land_pending(self._journal_end())
                self._lander_error = None
            except Exception as exc:  # the journal keeps every message; landing is retried next round
                self._lander_error = exc
                log.error("landing the MLLP journal failed (retried in %.0fs): %s", self.config.batch_seconds, exc)
            if stop:
                return

    def _journal_end(self) -> int:
        return self.journal.durable_size

    # -- the journal writer: group commit

    async def _writer(self) -> None:
        assert self.queue is not None
        since_landing = 0
        while True:
            items = [await self.queue.get()]
            while not self.queue.empty() and len(items) < 256:
                items.append(self.queue.get_nowait())
            try:
                dup = await asyncio.to_thread(self.journal.append, [(a.key, a.text) for a, _ in items])
                for (_, fut), d in zip(items, dup, strict=True):
                    if not fut.done():
                        fut.set_result(d)
                stored = dup.count(False)
                self.stored += stored
                since_landing += stored
                if since_landing >= self.config.batch_messages:
                    since_landing = 0
                    self._land_now.set()
            except OSError as exc:
                log.error("the MLLP journal could not be written: %s", exc)
                for _, fut in items:
                    if not fut.done():
                        fut.set_exception(exc)
            finally:
                for _ in items:
                    self.queue.task_done()

    # -- one connection

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None and self._stopping is not None and self.queue is not None
        self._connections.add(task)
        peer = writer.get_extra_info("peername")
        name = f"{peer[0]}:{peer[1]}" if peer else "?"
        stats = ConnectionStats()
        decoder = MllpDecoder()
        log.info("connection from %s opened", name)
        reason = "closed by the sender"
        try:
            while not self._stopping.is_set():
                read = asyncio.ensure_future(reader.read(65536))
                stop = asyncio.ensure_future(self._stopping.wait())
                done, _ = await asyncio.wait({read, stop}, return_when=asyncio.FIRST_COMPLETED)
                if read not in done:
                    read.cancel()
                    reason = "listener stopping"
                    break
                stop.cancel()
                data = read.result()
                if not data:
                    break
                for payload in decoder.feed(data):
                    started = time.perf_counter()
                    self.received += 1
                    ok = await self._handle(payload, writer, stats, name)
                    self.ack_latencies.append(time.perf_counter() - started)
                    if not ok:
                        reason = "message not stored (journal error); closed so the sender resends"
                        return
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            reason = f"connection error: {exc}"
        except Exception as exc:  # a frame too large, a TLS error: log, close this connection only
            reason = f"closed: {exc}"
        finally:
            codes = ", ".join(f"{k} {v}" for k, v in sorted(stats.codes.items())) or "none"
            log.info(
                "connection from %s %s after %d messages (acks: %s; duplicates %d)",
                name,
                reason,
                stats.messages,
                codes,
                stats.duplicates,
            )
            with contextlib.suppress(Exception):
                writer.close()
                await writer.wait_closed()
            self._connections.discard(task)

    async def _handle(self, payload: bytes, writer: asyncio.StreamWriter, stats: ConnectionStats, name: str) -> bool:
        assert self.queue is not None
        assessment = assess(payload)
        stats.messages += 1
        stored = duplicate = False
        if assessment.accepted:
            kill_if_asked("mllp", "after_receive")  # received and assessed, not yet journalled
            fut: asyncio.Future = asyncio.get_running_loop().create_future()
            await self.queue.put((assessment, fut))  # blocks while the queue is full: back-pressure
            try:
                duplicate = await fut
                stored = True
            except OSError:
                stored = False
            if stored:
                kill_if_asked("mllp", "before_ack")  # durable in the journal, not acknowledged
        else:
            log.warning(
                "rejected a message from %s (MSH-10 %s): %s",
                name,
                assessment.header.control_id if assessment.header else "?",
                assessment.errors[0].text if assessment.errors else "",
            )
        stats.duplicates += duplicate
        out = responses(assessment, stored, duplicate)
        for ack in out:
            code = ack.split(b"\rMSA", 1)[1][1:3].decode() if b"\rMSA" in ack else "?"
            stats.codes[code] = stats.codes.get(code, 0) + 1
            writer.write(frame(ack))
        await writer.drain()
        return stored or not assessment.accepted or bool(out)


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side TLS context (TLS 1.2 or later) from a PEM certificate chain and key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise IngestError(f"cannot load the TLS certificate {cert} and key {key}: {exc}") from exc
    return context
