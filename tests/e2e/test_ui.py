"""``careledger ui`` stops the Dagster webserver, daemon and code server it started when it gets
SIGTERM (before, they kept serving after the CLI was gone)."""

from __future__ import annotations

import pytest

from careledger.bench.ui_startup import descendants, free_port, start_ui, stop_ui, wait_for

pytestmark = pytest.mark.e2e


def test_sigterm_stops_every_process_ui_started(tmp_path) -> None:
    port = free_port()
    proc = start_ui(tmp_path / "home", port)
    try:
        wait_for(f"http://127.0.0.1:{port}/server_info", 600)
        children = descendants(proc.pid)
        assert len(children) >= 3, children  # dagster dev, its webserver, daemon and code server
    except BaseException:
        stop_ui(proc)
        raise
    _, left = stop_ui(proc)
    assert proc.returncode == 0
    assert not left, f"still running after SIGTERM: {sorted(left)}"
