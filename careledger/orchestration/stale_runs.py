"""Dagster runs whose process died: marked failed, their concurrency slots and pending claims
freed, so the next run starts instead of waiting forever.

Every warehouse writer is in the Dagster pool ``duckdb_writer`` (limit 1). A run killed with
SIGKILL never reports its end, so the Dagster instance keeps it ``STARTED`` and keeps its
slot claimed (and its pending claim queued): every later run then waits for a slot nobody
will free. Every run careledger starts (``jobs.run_job``: refresh, backfill, publish erp,
demo, replay) carries the tags ``RUN_TAGS`` (PID, host, process start time); before the next
run starts, ``reap_dead_runs`` marks each unfinished run whose process is gone as failed,
frees what it claimed, logs one line and writes an audit entry (``logs/lock_audit.jsonl``).
Slots or pending claims left by runs that have already finished are freed the same way.
Runs without these tags (launched from the Dagster UI by its run launcher) are left to
Dagster's own run monitoring.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from careledger.orchestration.locking import audit, pid_alive, process_start

log = logging.getLogger(__name__)

PID_TAG = "careledger/pid"
HOST_TAG = "careledger/host"
START_TAG = "careledger/process_start"


def run_tags() -> dict[str, str]:
    """The tags that let a later process tell whether this process still runs."""
    tags = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    started = process_start(os.getpid())
    if started is not None:
        tags[START_TAG] = started
    return tags


@dataclass(frozen=True)
class ReapedRun:
    run_id: str
    job_name: str
    pid: int
    host: str
    status: str


def _owner_dead(tags: dict[str, str]) -> bool | None:
    """True: the run's careledger process is gone; False: it runs; None: not a careledger run
    on this host (nothing to decide here)."""
    if PID_TAG not in tags or tags.get(HOST_TAG) != socket.gethostname():
        return None
    try:
        pid = int(tags[PID_TAG])
    except ValueError:
        return None
    return not pid_alive(pid, tags.get(START_TAG))


def reap_dead_runs(instance, warehouse: Path) -> list[ReapedRun]:
    """Fail every unfinished careledger run of ``instance`` whose process died and free the
    concurrency slots and pending claims of dead or finished runs. Returns the runs failed."""
    from dagster import DagsterRunStatus, RunsFilter

    unfinished = (
        DagsterRunStatus.NOT_STARTED,
        DagsterRunStatus.QUEUED,
        DagsterRunStatus.STARTING,
        DagsterRunStatus.STARTED,
        DagsterRunStatus.CANCELING,
    )
    reaped: list[ReapedRun] = []
    for run in instance.get_runs(filters=RunsFilter(statuses=list(unfinished))):
        if _owner_dead(dict(run.tags)) is not True:
            continue
        pid, host = int(run.tags[PID_TAG]), run.tags[HOST_TAG]
        message = (
            f"Dagster run {run.run_id} ({run.job_name}, {run.status.value}) was left unfinished by process "
            f"{pid} on {host}, which is gone (killed or crashed): marked failed and its concurrency slots freed"
        )
        instance.report_run_failed(run, message=message)
        _free(instance, run.run_id)
        log.warning(message)
        audit(warehouse, "failed_dead_run", message)
        reaped.append(ReapedRun(run.run_id, run.job_name, pid, host, run.status.value))
    _free_orphan_claims(instance, warehouse, unfinished)
    return reaped


def _free(instance, run_id: str) -> None:
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        storage.free_concurrency_slots_for_run(run_id)


def _free_orphan_claims(instance, warehouse: Path, unfinished: tuple) -> None:
    """Slots claimed or claims pending for runs that are finished (or unknown to the instance)."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    run_ids: set[str] = set()
    for key in storage.get_concurrency_keys():
        info = storage.get_concurrency_info(key)
        run_ids.update(s.run_id for s in info.claimed_slots)
        run_ids.update(p.run_id for p in info.pending_steps)
    for run_id in sorted(run_ids):
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status in unfinished and _owner_dead(dict(run.tags)) is not True:
            continue  # a live (or not-ours) run's claim
        state = run.status.value if run is not None else "unknown to the instance"
        message = f"freed the concurrency slots and pending claims of Dagster run {run_id} ({state})"
        _free(instance, run_id)
        log.warning(message)
        audit(warehouse, "freed_orphan_slots", message)


def unfinished_runs(instance) -> list[tuple[str, str, str, str]]:
    """(run id, job, status, owner) of every unfinished run, for ``careledger status``."""
    from dagster import DagsterRunStatus, RunsFilter

    statuses = [
        DagsterRunStatus.NOT_STARTED,
        DagsterRunStatus.QUEUED,
        DagsterRunStatus.STARTING,
        DagsterRunStatus.STARTED,
        DagsterRunStatus.CANCELING,
    ]
    out = []
    for run in instance.get_runs(filters=RunsFilter(statuses=statuses)):
        tags = dict(run.tags)
        dead = _owner_dead(tags)
        owner = "not a careledger CLI run" if dead is None else f"pid {tags[PID_TAG]} on {tags[HOST_TAG]}"
        if dead:
            owner += " (gone: the next run marks it failed)"
        out.append((run.run_id, run.job_name, run.status.value, owner))
    return out
