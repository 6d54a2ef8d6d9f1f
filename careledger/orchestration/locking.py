"""One writer to the DuckDB warehouse at a time, across the CLI, tests and the Dagster daemon.

DuckDB itself refuses a second read-write process; this lock makes the rule visible and
polite: the second writer waits (up to a timeout) and says who holds the warehouse.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from careledger import config

log = logging.getLogger(__name__)


class WarehouseLocked(RuntimeError):
    """Another careledger process is writing the warehouse."""


@contextmanager
def warehouse_writer(warehouse: Path, purpose: str, *, wait_seconds: float = 600.0) -> Iterator[None]:
    """Hold the warehouse write lock (``<warehouse>.lock``) for the duration of the block.

    Re-entrant within one process: a nested call by the same process passes through.
    """
    lock_path = Path(str(warehouse) + ".lock")
    if config.lock_held() == str(lock_path):
        yield
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(lock_path, "a+")
    deadline = time.monotonic() + wait_seconds
    announced = False
    try:
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _read_holder(lock_path)
                if time.monotonic() >= deadline:
                    raise WarehouseLocked(
                        f"the warehouse {warehouse} is being written by {holder}; waited {wait_seconds:.0f}s. "
                        "Run again when it has finished (see `careledger status`)."
                    ) from None
                if not announced:
                    log.warning("waiting for the warehouse: %s holds it", holder)
                    announced = True
                time.sleep(0.5)
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "purpose": purpose, "since": time.time()}))
        fh.flush()
        with config.holding_lock(lock_path):
            yield
    finally:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        finally:
            fh.close()


def _read_holder(lock_path: Path) -> str:
    try:
        info = json.loads(lock_path.read_text() or "{}")
        return f"pid {info.get('pid')} ({info.get('purpose')})"
    except (OSError, ValueError):
        return "another process"
