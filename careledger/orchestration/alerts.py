"""SLA alerts: a pluggable notifier; the default writes to an alerts table and the log.

Alerts go to ``$CARELEDGER_HOME/ops.duckdb`` (table ``alerts``), not the warehouse, so raising
an alert never waits for the warehouse's single writer.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Protocol

import duckdb

from careledger import config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    alert_type: str
    subject: str
    message: str
    severity: str = "error"
    raised_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))


class Notifier(Protocol):
    def notify(self, alert: Alert) -> None: ...


class TableAndLogNotifier:
    """Default notifier: one row in ``ops.duckdb``'s ``alerts`` table and an ERROR log line."""

    def __init__(self, ops_db: Path):
        self.ops_db = ops_db

    def notify(self, alert: Alert) -> None:
        log.error("SLA ALERT [%s] %s: %s", alert.alert_type, alert.subject, alert.message)
        self.ops_db.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(self.ops_db)) as con:
            con.execute(
                "create table if not exists alerts (alert_type varchar, subject varchar, message varchar, "
                "severity varchar, raised_at timestamp)"
            )
            con.execute(
                "insert into alerts values (?, ?, ?, ?, ?)",
                [alert.alert_type, alert.subject, alert.message, alert.severity, alert.raised_at],
            )


def notifier_for(home: Path) -> Notifier:
    """``CARELEDGER_NOTIFIER=package.module:Class`` plugs in another notifier (given the ops db path)."""
    spec = config.notifier_spec()
    if spec:
        module, _, cls = spec.partition(":")
        return getattr(importlib.import_module(module), cls)(home / "ops.duckdb")
    return TableAndLogNotifier(home / "ops.duckdb")


@dataclass(frozen=True)
class SlaStatus:
    is_late: bool
    business_date: date
    message: str


def daily_posting_sla(last_posted_date: date | None, now: datetime, deadline: time) -> SlaStatus:
    """The posting for business day D-1 is due by ``deadline`` on day D."""
    business_date = date.fromordinal(now.date().toordinal() - 1)
    past_deadline = now.time() >= deadline
    done = last_posted_date is not None and last_posted_date >= business_date
    if past_deadline and not done:
        return SlaStatus(
            True,
            business_date,
            f"daily ERP posting for {business_date} not completed by {deadline:%H:%M} UTC "
            f"(last posted: {last_posted_date or 'never'})",
        )
    return SlaStatus(
        False,
        business_date,
        f"daily posting for {business_date} " + ("done" if done else f"due by {deadline:%H:%M} UTC"),
    )
