"""One writer to the DuckDB warehouse at a time, across the CLI, tests and the Dagster daemon,
and a lock that a crashed writer never keeps.

DuckDB itself refuses a second read-write process; this lock makes the rule visible and
polite: the second writer waits (up to a timeout) and says who holds the warehouse.

How it survives a crash:

- The lock is an ``flock`` on ``<warehouse>.lock``: the kernel drops it the moment the holding
  process dies, however it dies (SIGKILL included), so a dead writer can never block the next.
- Beside it, ``<warehouse>.lock.holder.json`` says who holds it: PID, host, the process's start
  time (so a reused PID is not mistaken for the holder), purpose, since when, and a heartbeat
  the holder refreshes every ``HEARTBEAT_SECONDS`` (its lease is ``LEASE_SECONDS``). A clean
  release deletes the record; a record left behind is the mark of a holder that died. The next
  writer frees it with a log line and an audit entry (``logs/lock_audit.jsonl`` in the home).
- A record naming another host whose lease has not expired is honoured even when the flock
  was granted (a lock file on a shared file system that does not pass flocks between hosts).
- The lock is held by the process that does the work: a child that writes the warehouse for
  the holder (``dbt build``) dies with it (``child_processes``, PR_SET_PDEATHSIG) and is named in
  the record (``register_worker``); a dead holder whose worker still runs still blocks the next
  writer until that worker is gone, so no writer ever opens the warehouse beside an orphan.
- ``careledger unlock`` removes a dead holder's record and refuses while the holder is alive.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from careledger import config

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
LEASE_SECONDS = 60.0


class WarehouseLocked(RuntimeError):
    """Another careledger process is writing the warehouse (the message is one sentence)."""


class HolderAlive(RuntimeError):
    """``unlock`` refused: the process holding the warehouse is alive."""


def lock_path(warehouse: Path) -> Path:
    return Path(str(warehouse) + ".lock")


def holder_path(warehouse: Path) -> Path:
    return Path(str(warehouse) + ".lock.holder.json")


def audit_path(warehouse: Path) -> Path:
    return Path(warehouse).parent / "logs" / "lock_audit.jsonl"


def process_start(pid: int) -> str | None:
    """The start time of ``pid`` in clock ticks since boot (``/proc/<pid>/stat`` field 22), or
    None where there is no /proc or no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces: split after it
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _process_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[0] if fields else None


def pid_alive(pid: int, started: str | None = None) -> bool:
    """Whether process ``pid`` (with that start time, when known) runs on this host. A zombie
    (killed, not yet reaped) is dead."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if _process_state(pid) in ("Z", "X"):
        return False
    if started is not None:
        now = process_start(pid)
        if now is not None and now != started:
            return False  # the PID was reused by another process
    return True


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held, without releasing) the warehouse write lock."""

    pid: int
    host: str
    purpose: str
    since: float
    heartbeat: float
    lease_seconds: float = LEASE_SECONDS
    process_start: str | None = None
    #: children writing the warehouse for the holder: [pid, process start, what], newest last
    workers: tuple = ()

    @classmethod
    def me(cls, purpose: str) -> Holder:
        now = time.time()
        return cls(os.getpid(), socket.gethostname(), purpose, now, now, LEASE_SECONDS, process_start(os.getpid()))

    @property
    def on_this_host(self) -> bool:
        return self.host == socket.gethostname()

    def lease_expired(self, now: float | None = None) -> bool:
        return (now or time.time()) - self.heartbeat > self.lease_seconds

    def alive(self) -> bool:
        """Same host: the process runs. Another host: its lease has not expired."""
        if self.on_this_host:
            return pid_alive(self.pid, self.process_start)
        return not self.lease_expired()

    def live_workers(self) -> list[tuple[int, str]]:
        """The workers (pid, what) that still run; only known on the holder's host."""
        if not self.on_this_host:
            return []
        return [(int(pid), what) for pid, started, what in self.workers if pid_alive(int(pid), started)]

    def with_worker(self, pid: int, what: str) -> Holder:
        return Holder(**{**asdict(self), "workers": (*self.workers, (pid, process_start(pid), what))})

    def describe(self) -> str:
        since = datetime.fromtimestamp(self.since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        beat = max(0, int(time.time() - self.heartbeat))
        return f"pid {self.pid} on {self.host} ({self.purpose}) since {since}, last heartbeat {beat} s ago"


def _orphans_of(previous: Holder) -> Holder:
    """The blocker to report for a dead holder whose workers still write the warehouse."""
    names = ", ".join(f"{what} pid {pid}" for pid, what in previous.live_workers())
    return Holder(**{**asdict(previous), "purpose": f"{names}, still running for the dead {previous.purpose}"})


def read_holder(warehouse: Path) -> Holder | None:
    """The holder record of ``warehouse``, or None when nobody holds it (or left it behind)."""
    path = holder_path(warehouse)
    for _ in range(3):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data["workers"] = tuple(tuple(w) for w in data.get("workers", ()))
            return Holder(**data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError):
            time.sleep(0.05)  # a record being replaced; read it again
    return None


def _write_holder(warehouse: Path, holder: Holder) -> None:
    path = holder_path(warehouse)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(holder)), encoding="utf-8")
    os.replace(tmp, path)


def audit(warehouse: Path, event: str, message: str, holder: Holder | None = None) -> None:
    """Append one line to the lock audit trail (``logs/lock_audit.jsonl`` in the home)."""
    path = audit_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "event": event,
        "warehouse": str(warehouse),
        "message": message,
        "by_pid": os.getpid(),
        "by_host": socket.gethostname(),
        "holder": asdict(holder) if holder else None,
    }
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")


def read_audit(warehouse: Path, last: int = 5) -> list[dict]:
    path = audit_path(warehouse)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()[-last:]
    return [json.loads(line) for line in lines if line.strip()]


def _free_dead_holder(warehouse: Path, previous: Holder) -> None:
    message = (
        f"freed the warehouse lock of a writer that died without releasing it: {previous.describe()}; "
        "its work was not committed and this run starts from the state it left"
    )
    log.warning(message)
    audit(warehouse, "freed_dead_holder", message, previous)


class _Heartbeat:
    """Refreshes the holder record's heartbeat while the lock is held."""

    def __init__(self, warehouse: Path, holder: Holder):
        self.warehouse, self.holder = warehouse, holder
        self._stop = threading.Event()
        self._mutex = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="careledger-lock-heartbeat", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self._update(lambda h: Holder(**{**asdict(h), "heartbeat": time.time()}))

    def _update(self, change) -> None:
        with self._mutex:
            self.holder = change(self.holder)
            try:
                _write_holder(self.warehouse, self.holder)
            except OSError as exc:  # a full disk must not kill the writer; the flock still protects
                log.warning("could not refresh the warehouse lock record: %s", exc)

    def add_worker(self, pid: int, what: str) -> None:
        self._update(lambda h: h.with_worker(pid, what))

    def __enter__(self) -> _Heartbeat:
        _ACTIVE[str(lock_path(self.warehouse))] = self
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        _ACTIVE.pop(str(lock_path(self.warehouse)), None)
        self._stop.set()
        self._thread.join(timeout=5)


#: the heartbeat of each lock this process holds, by lock path
_ACTIVE: dict[str, _Heartbeat] = {}


def register_worker(pid: int, what: str) -> None:
    """Name ``pid`` (a child writing the warehouse for this process, e.g. ``dbt build``) in the
    record of the lock this process holds, so a next writer waits for it should this process
    die first. Does nothing when this process holds no lock."""
    held = config.lock_held()
    beat = _ACTIVE.get(held) if held else None
    if beat is not None:
        beat.add_worker(pid, what)


def _try_take(fh, warehouse: Path) -> Holder | None:
    """Take the flock if free and no live holder on another host claims the warehouse; returns
    the holder that blocks us (None when we hold the lock now)."""
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_holder(warehouse) or Holder(0, "?", "another process", time.time(), time.time())
    previous = read_holder(warehouse)
    if previous is not None and not previous.on_this_host and previous.alive():
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)  # a live writer elsewhere on a shared file system
        return previous
    if previous is not None and previous.live_workers():
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)  # the holder died; its dbt still writes
        return _orphans_of(previous)
    if previous is not None:
        _free_dead_holder(warehouse, previous)
    return None


@contextmanager
def warehouse_writer(warehouse: Path, purpose: str, *, wait_seconds: float = 600.0) -> Iterator[None]:
    """Hold the warehouse write lock for the duration of the block.

    Re-entrant within one process: a nested call by the same process passes through. Raises
    ``WarehouseLocked`` (one sentence: who holds it, since when) after ``wait_seconds``.
    """
    warehouse = Path(warehouse)
    lpath = lock_path(warehouse)
    if config.lock_held() == str(lpath):
        yield
        return
    lpath.parent.mkdir(parents=True, exist_ok=True)
    fh = open(lpath, "a+")  # held for the whole block
    deadline = time.monotonic() + wait_seconds
    announced = False
    locked = False
    try:
        while True:
            blocker = _try_take(fh, warehouse)
            if blocker is None:
                locked = True
                break
            if time.monotonic() >= deadline:
                raise WarehouseLocked(
                    f"the warehouse {warehouse} is being written by {blocker.describe()}; waited "
                    f"{wait_seconds:.0f} s, so run again when it has finished (`careledger status` shows the holder)"
                )
            if not announced:
                log.warning("waiting for the warehouse: %s holds it", blocker.describe())
                announced = True
            time.sleep(0.5)
        me = Holder.me(purpose)
        _write_holder(warehouse, me)
        with _Heartbeat(warehouse, me), config.holding_lock(lpath):
            yield
    finally:
        try:
            if locked:  # a release, clean or by exception: only a dead process leaves its record
                holder_path(warehouse).unlink(missing_ok=True)
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        finally:
            fh.close()


@dataclass(frozen=True)
class LockStatus:
    """What ``careledger status`` shows: whether the lock is held, by whom, and whether a dead
    holder left its record behind."""

    held: bool
    holder: Holder | None
    stale: bool

    def describe(self) -> str:
        if self.held and self.holder is not None:
            return f"held by {self.holder.describe()}"
        if self.held:
            return "held by a process that left no holder record"
        if self.stale and self.holder is not None:
            return f"free; a writer died holding it ({self.holder.describe()}); the next writer frees it"
        return "free"


def lock_status(warehouse: Path) -> LockStatus:
    """Probe the lock without waiting and without changing it."""
    warehouse = Path(warehouse)
    lpath = lock_path(warehouse)
    holder = read_holder(warehouse)
    if not lpath.exists():
        return LockStatus(False, holder, holder is not None)
    with open(lpath, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return LockStatus(True, holder, False)
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    if holder is not None and not holder.on_this_host and holder.alive():
        return LockStatus(True, holder, False)
    if holder is not None and holder.live_workers():
        return LockStatus(True, _orphans_of(holder), False)
    return LockStatus(False, holder, holder is not None)


def unlock(warehouse: Path) -> str:
    """Remove the record of a holder that died (operators: ``careledger unlock``); raises
    ``HolderAlive`` while the holder runs. Returns what was done, in one sentence."""
    warehouse = Path(warehouse)
    status = lock_status(warehouse)
    if status.held:
        who = status.holder.describe() if status.holder else "a running process"
        raise HolderAlive(f"the warehouse {warehouse} is held by {who}, which is alive; stop that process first")
    if status.holder is None:
        return f"the warehouse {warehouse} is not locked; nothing to do"
    message = f"removed the lock record of a writer that died: {status.holder.describe()}"
    holder_path(warehouse).unlink(missing_ok=True)
    audit(warehouse, "unlocked_by_operator", message, status.holder)
    log.warning(message)
    return message
