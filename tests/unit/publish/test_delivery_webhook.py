"""JSON webhook delivery against a mock receiver on 127.0.0.1 that checks the HMAC signature
and keeps the first answer per Idempotency-Key: success, a business rejection, 503 then
success, a timeout after the receiver stored the journal, a receiver that dies mid-batch.
After each: every journal is in the receiver exactly once, the attempts are recorded, and a
rerun sends nothing already accepted."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from test_erp_support import make_warehouse

from careledger.publish.delivery.webhook import DeliveryError, deliver_json
from careledger.publish.erp import publish_erp
from careledger.transport import CircuitBreaker, RetryPolicy, Transport

SECRET = "test-webhook-secret"


class Receiver(ThreadingHTTPServer):
    def __init__(
        self, store: dict, faults: list[str] | None = None, reject: set[str] = frozenset(), die_after: int | None = None
    ):
        self.store = store  # idempotency key -> (journal_id, answer id); survives a restart
        self.faults = list(faults or [])
        self.reject = reject
        self.die_after = die_after
        self.requests = 0
        super().__init__(("127.0.0.1", 0), ReceiverHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/journals"


class ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        srv: Receiver = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        srv.requests += 1
        if srv.die_after is not None and srv.requests > srv.die_after:
            self.close_connection = True
            threading.Thread(target=srv.shutdown, daemon=True).start()
            return  # no answer: the connection drops
        fault = srv.faults.pop(0) if srv.faults else "ok"
        if fault == "503":
            return self._answer(503, {"error": "busy"})
        ts = self.headers["X-Careledger-Timestamp"]
        expected = "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, self.headers["X-Careledger-Signature"]):
            return self._answer(401, {"error": "bad signature"})
        journal = json.loads(body)
        if journal["journal_id"] in srv.reject:
            return self._answer(422, {"error": f"account 1200 is blocked for posting in {journal['period_id']}"})
        key = self.headers["Idempotency-Key"]
        if key not in srv.store:
            srv.store[key] = (journal["journal_id"], f"DOC{len(srv.store) + 1:05d}")
        if fault == "slow":
            time.sleep(0.5)  # stored, but the answer comes after the client gave up
        self._answer(201, {"id": srv.store[key][1]})

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def published(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CARELEDGER_WEBHOOK_SECRET", SECRET)
    wh = make_warehouse(tmp_path / "w.duckdb")
    result = publish_erp(wh, "json", tmp_path / "out")
    return wh, tmp_path / "out", result


@pytest.fixture
def start():
    servers = []

    def _start(**kw) -> Receiver:
        r = Receiver(**kw)
        threading.Thread(target=r.serve_forever, daemon=True).start()
        servers.append(r)
        return r

    yield _start
    for r in servers:
        r.shutdown()
        r.server_close()


def transport(**kw) -> Transport:
    sleeps: list[float] = []
    policy = RetryPolicy(timeout=kw.pop("timeout", 2.0), base_delay=0.001, max_attempts=kw.pop("max_attempts", 4))
    return Transport(
        policy=policy, breaker=CircuitBreaker(kw.pop("threshold", 6)), sleep=sleeps.append, rng=random.Random(3)
    )


def attempts(wh: Path) -> list[tuple]:
    with duckdb.connect(str(wh), read_only=True) as con:
        return con.execute(
            "select journal_id, attempt, outcome, http_status, erp_document_id, message "
            "from publish.delivery_attempts order by started_at, journal_id, attempt"
        ).fetchall()


def journal_ids(wh: Path) -> list[str]:
    with duckdb.connect(str(wh), read_only=True) as con:
        return [
            r[0] for r in con.execute("select journal_id from publish.posting_ledger where target = 'json'").fetchall()
        ]


def in_erp_once(store: dict, wh: Path, expected: set[str]) -> None:
    ids = [jid for jid, _ in store.values()]
    assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids))


def test_success_then_a_rerun_sends_nothing(published, start) -> None:
    wh, out, _ = published
    store: dict = {}
    r = start(store=store)
    result = deliver_json(wh, r.url, out, transport=transport())
    assert len(result.accepted) == 5 and not result.rejected and not result.failed
    in_erp_once(store, wh, set(journal_ids(wh)))
    rows = attempts(wh)
    assert {(a[1], a[2], a[3]) for a in rows} == {(1, "accepted", 201)} and all(a[4].startswith("DOC") for a in rows)
    again = deliver_json(wh, r.url, out, transport=transport())
    assert again.accepted == [] and again.already_accepted == 5 and r.requests == 5


def test_business_rejection_is_recorded_not_retried(published, start) -> None:
    wh, out, _ = published
    bad = journal_ids(wh)[0]
    store: dict = {}
    r = start(store=store, reject={bad})
    result = deliver_json(wh, r.url, out, transport=transport())
    assert list(result.rejected) == [bad] and "blocked for posting" in result.rejected[bad]
    assert [a for a in attempts(wh) if a[0] == bad] == [(bad, 1, "rejected", 422, None, result.rejected[bad])]
    in_erp_once(store, wh, set(journal_ids(wh)) - {bad})
    assert deliver_json(wh, r.url, out, transport=transport()).accepted == []  # no blind resend


def test_503_then_success_and_timeout_never_double(published, start) -> None:
    wh, out, _ = published
    store: dict = {}
    r = start(store=store, faults=["503", "ok", "slow"])
    result = deliver_json(wh, r.url, out, transport=transport(timeout=0.2))
    assert len(result.accepted) == 5
    in_erp_once(store, wh, set(journal_ids(wh)))  # the timed-out journal was resent with its key
    tries = [(a[2], a[3]) for a in attempts(wh)]
    # a 5xx may have been processed too: both are in doubt, resent with the same key
    assert sorted((t for t in tries if t[0] != "accepted"), key=str) == [("in_doubt", 503), ("in_doubt", None)]
    assert [t[0] for t in tries].count("accepted") == 5


def test_receiver_dying_mid_batch_opens_the_circuit_and_the_rerun_finishes(published, start) -> None:
    wh, out, _ = published
    store: dict = {}
    r = start(store=store, die_after=2)
    first = deliver_json(wh, r.url, out, transport=transport(max_attempts=3, threshold=3))
    assert len(first.accepted) == 2 and first.circuit_open and len(first.failed) == 3
    back = start(store=store)  # the same receiver's data, back on a new port
    second = deliver_json(wh, back.url, out, transport=transport())
    assert len(second.accepted) == 3 and second.already_accepted == 2
    in_erp_once(store, wh, set(journal_ids(wh)))


def test_no_secret_is_one_sentence(published, monkeypatch) -> None:
    wh, out, _ = published
    monkeypatch.delenv("CARELEDGER_WEBHOOK_SECRET")
    with pytest.raises(DeliveryError, match="set CARELEDGER_WEBHOOK_SECRET"):
        deliver_json(wh, "http://127.0.0.1:9/x", out)


def test_cli_delivers_and_status_names_the_erp_message(tmp_path: Path, monkeypatch, start, capsys) -> None:
    from careledger.cli import main
    from careledger.ingest.landing import ensure_schema

    home = tmp_path / "home"
    monkeypatch.setenv("CARELEDGER_HOME", str(home))
    monkeypatch.setenv("CARELEDGER_WEBHOOK_SECRET", SECRET)
    home.mkdir()
    wh = make_warehouse(home / "warehouse.duckdb")
    with duckdb.connect(str(wh)) as con:
        ensure_schema(con)  # the raw tables status reads, as ingest creates them
    publish_erp(wh, "json", home / "exports" / "erp")
    bad = sorted(journal_ids(wh))[0]
    r = start(store={}, reject={bad})
    assert main(["deliver", "erp", "--target", "json", "--endpoint", r.url]) == 1  # one rejected
    assert "json: 4 accepted, 1 rejected" in capsys.readouterr().out
    assert main(["status"]) == 0
    printed = capsys.readouterr().out
    assert f"not posted json {bad}" in printed and "blocked for posting in 2025-02" in printed
    # "why didn't facility X's revenue post on day D?": per journal of that day, per ERP
    with duckdb.connect(str(wh), read_only=True) as con:
        facility, day = con.execute(
            "select facility_id, posting_date from publish.posting_ledger where target = 'json' and journal_id = ?",
            [bad],
        ).fetchone()
        others = con.execute(
            "select journal_id from publish.posting_ledger where target = 'json' and facility_id = ? "
            "and posting_date = ? and journal_id <> ?",
            [facility, day, bad],
        ).fetchall()
    assert main(["status", "--facility", facility, "--date", day.isoformat()]) == 0
    trail = capsys.readouterr().out
    with duckdb.connect(str(wh), read_only=True) as con:
        mart_journals = con.execute(
            "select distinct journal_id from marts.mart_erp_journal_lines where facility_id = ? and posting_date = ?",
            [facility, day],
        ).fetchall()
    assert mart_journals and all(f"journal {j} (" in trail for (j,) in mart_journals)
    assert f"json {bad}: posted to " in trail and "rejected (HTTP 422): " in trail
    assert "blocked for posting in 2025-02" in trail
    for (other,) in others:
        assert f"json {other}: posted to " in trail and "accepted by the ERP (HTTP" in trail
    assert main(["status", "--facility", facility]) == 2
    assert "give --facility and --date together" in capsys.readouterr().err


def test_a_secret_file_that_is_missing_is_one_sentence(tmp_path: Path, monkeypatch, capsys) -> None:
    """A ``_FILE`` variable naming a file that is not there: one sentence naming the variable and
    the file and what to do, exit code 2, no traceback, nothing sent."""
    from careledger.cli import main

    home = tmp_path / "home"
    monkeypatch.setenv("CARELEDGER_HOME", str(home))
    monkeypatch.delenv("CARELEDGER_WEBHOOK_SECRET", raising=False)
    missing = tmp_path / "vault" / "webhook.secret"
    monkeypatch.setenv("CARELEDGER_WEBHOOK_SECRET_FILE", str(missing))
    home.mkdir()
    wh = make_warehouse(home / "warehouse.duckdb")
    publish_erp(wh, "json", home / "exports" / "erp")
    assert main(["deliver", "erp", "--target", "json", "--endpoint", "http://127.0.0.1:9/x"]) == 2
    err = capsys.readouterr().err
    assert f"CARELEDGER_WEBHOOK_SECRET_FILE names {missing}, which cannot be read" in err
    assert "or set CARELEDGER_WEBHOOK_SECRET instead" in err and "Traceback" not in err
