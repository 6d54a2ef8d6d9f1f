"""A compact Dagster logger for the terminal: one line per step start/finish, failures in full.

Dagster's default console logger prints every engine event at DEBUG; a person running
``careledger demo`` wants to see progress, not plumbing. The event log (what the UI shows)
is unaffected. Progress goes to stderr, like every log line, so stdout carries only a
command's summary (and with ``--json`` only its JSON document).
"""

import logging
import sys

from dagster import logger

from careledger import config


class _ProgressHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            if record.levelno >= logging.WARNING:
                self._write(f"  ! {record.getMessage()}")
            elif config.verbose():
                self._write(f"    {meta.get('orig_message', record.getMessage())}")
            return
        kind = event.event_type_value
        step = event.step_key or ""
        if kind == "STEP_START":
            self._write(f"  > {step} ...")
        elif kind == "STEP_SUCCESS":
            ms = getattr(event.event_specific_data, "duration_ms", None)
            self._write(f"  ok {step}" + (f" ({ms / 1000:.1f}s)" if ms else ""))
        elif kind == "STEP_FAILURE":
            err = getattr(event.event_specific_data, "error", None)
            self._write(f"  FAILED {step}: {err.message.strip() if err else record.getMessage()}")
        elif kind == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            if not data.passed:
                self._write(
                    f"  check {data.asset_key.to_user_string()}:{data.check_name} "
                    f"{'warned' if str(data.severity).endswith('WARN') else 'FAILED'}"
                )
        elif kind == "RUN_FAILURE":
            self._write(f"  run failed: {record.getMessage()}")

    @staticmethod
    def _write(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


@logger(description="careledger's compact progress logger (one line per step)")
def progress_logger(init_context):
    lg = logging.Logger("careledger_progress", level=logging.DEBUG)
    lg.addHandler(_ProgressHandler())
    return lg
