"""Delivery to NetSuite, SAP, Oracle Fusion and D365 against their mock servers on 127.0.0.1
(tests/unit/publish/mock_erps.py): success, a business rejection, a 429 with Retry-After, a 503
then success, a timeout, a server that dies mid-batch. After every scenario each journal is
in the ERP exactly once (the mock counts), the ledger's attempts are right, and a rerun sends
nothing already accepted. Back-off and polls are shortened through the policy and the client
options, so the module runs in seconds."""

from __future__ import annotations

import base64
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from mock_erps import Books, D365Mock, MockErp, NetSuiteMock, OracleMock, SapMock
from test_erp_support import make_warehouse

from careledger.publish.delivery.engine import DeliveryError, deliver_erp
from careledger.publish.erp import publish_erp
from careledger.publish.erp.sap import document_reference
from careledger.transport import CircuitBreaker, RetryPolicy, Transport

SECRETS = {
    "CARELEDGER_NETSUITE_CLIENT_ID": "ns-client-7d1e",
    "CARELEDGER_NETSUITE_CERTIFICATE_ID": "cert-4Zk9",
    "CARELEDGER_SAP_USER": "CC0000000001",
    "CARELEDGER_SAP_PASSWORD": "sap-Pa55word-never-logged",
    "CARELEDGER_ORACLE_USER": "fin.integration",
    "CARELEDGER_ORACLE_PASSWORD": "oracle-Pa55word-never-logged",
    "CARELEDGER_D365_TENANT_ID": "contoso-tenant",
    "CARELEDGER_D365_CLIENT_ID": "d365-app-id",
    "CARELEDGER_D365_CLIENT_SECRET": "d365-secret-never-logged",
}
FAST = {"poll_base": 0.001, "poll_max": 0.002, "poll_tries": 5}


def _pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


@dataclass(frozen=True)
class Harness:
    target: str
    make: Callable[..., MockErp]  # (books, faults=, reject=) -> a mock of this ERP
    endpoint: Callable[[MockErp], str]
    key: Callable[[str], str] = lambda journal_id: journal_id  # journal id -> the ERP's name of it
    options: tuple = ()
    retry_503: str = "in_doubt"  # the outcome recorded for a 503 (Oracle: not taken, plain retry)


HARNESSES = {
    "netsuite": Harness(
        "netsuite",
        lambda books, **kw: NetSuiteMock(
            books,
            public_key=RSA_KEY.public_key(),
            client_id=SECRETS["CARELEDGER_NETSUITE_CLIENT_ID"],
            certificate_id=SECRETS["CARELEDGER_NETSUITE_CERTIFICATE_ID"],
            **kw,
        ),
        lambda m: m.base,
    ),
    "sap": Harness(
        "sap",
        lambda books, **kw: SapMock(
            books, user=SECRETS["CARELEDGER_SAP_USER"], password=SECRETS["CARELEDGER_SAP_PASSWORD"], **kw
        ),
        lambda m: m.url,
        key=document_reference,
    ),
    "oracle": Harness(
        "oracle",
        lambda books, **kw: OracleMock(
            books, user=SECRETS["CARELEDGER_ORACLE_USER"], password=SECRETS["CARELEDGER_ORACLE_PASSWORD"], **kw
        ),
        lambda m: m.base,
        options=tuple(FAST.items()),
        retry_503="retry",
    ),
    "d365": Harness(
        "d365",
        lambda books, **kw: D365Mock(
            books,
            tenant=SECRETS["CARELEDGER_D365_TENANT_ID"],
            client_id=SECRETS["CARELEDGER_D365_CLIENT_ID"],
            client_secret=SECRETS["CARELEDGER_D365_CLIENT_SECRET"],
            **kw,
        ),
        lambda m: m.base,
        options=tuple(FAST.items()),
    ),
}
ERPS = sorted(HARNESSES)


@pytest.fixture
def secrets(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CARELEDGER_NETSUITE_PRIVATE_KEY", _pem(RSA_KEY))
    return monkeypatch


@pytest.fixture
def start():
    servers: list[MockErp] = []

    def _start(h: Harness, books: Books, **kw) -> MockErp:
        import threading

        server = h.make(books, **kw)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield _start
    for s in servers:
        if not s.dead:
            s.shutdown()
            s.server_close()


def published(tmp_path: Path, target: str) -> tuple[Path, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    wh = make_warehouse(tmp_path / "w.duckdb")
    publish_erp(wh, target, tmp_path / "out")
    return wh, tmp_path / "out"


def transport(sleeps: list[float] | None = None, **kw) -> Transport:
    policy = RetryPolicy(timeout=kw.pop("timeout", 2.0), base_delay=0.001, max_attempts=kw.pop("max_attempts", 4))
    return Transport(
        policy=policy,
        breaker=CircuitBreaker(kw.pop("threshold", 6)),
        sleep=(sleeps if sleeps is not None else []).append,
        rng=random.Random(7),
    )


def run(h: Harness, wh: Path, out: Path, server: MockErp, monkeypatch, **kw):
    monkeypatch.setenv("CARELEDGER_D365_AUTHORITY", server.base)  # Entra is mocked by the same server
    return deliver_erp(
        wh,
        h.target,
        h.endpoint(server),
        out,
        transport=kw.pop("transport", None) or transport(),
        **dict(h.options),
        **kw,
    )


def ledger_ids(wh: Path, target: str) -> list[str]:
    with duckdb.connect(str(wh), read_only=True) as con:
        return [
            r[0]
            for r in con.execute(
                "select journal_id from publish.posting_ledger where target = ? order by journal_id", [target]
            ).fetchall()
        ]


def attempts(wh: Path, journal_id: str | None = None) -> list[tuple]:
    with duckdb.connect(str(wh), read_only=True) as con:
        return con.execute(
            "select journal_id, attempt, outcome, http_status, erp_document_id, message from publish.delivery_attempts "
            "where ? is null or journal_id = ? order by started_at, journal_id, attempt",
            [journal_id, journal_id],
        ).fetchall()


def in_erp_once(h: Harness, books: Books, journal_ids) -> None:
    expected = {h.key(j): 1 for j in journal_ids}
    assert dict(books.booked) == expected


def final_outcomes(wh: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for journal_id, _, outcome, *_ in attempts(wh):
        out[journal_id] = outcome
    return out


@pytest.mark.parametrize("erp", ERPS)
def test_success_then_a_rerun_sends_nothing(erp, tmp_path, secrets, start) -> None:
    h = HARNESSES[erp]
    wh, out = published(tmp_path, erp)
    ids = ledger_ids(wh, erp)
    books = Books()
    server = start(h, books)
    result = run(h, wh, out, server, secrets)
    assert sorted(result.accepted) == ids and not (result.rejected or result.failed or result.stopped)
    in_erp_once(h, books, ids)
    rows = attempts(wh)
    assert {(r[1], r[2]) for r in rows} == {(1, "accepted")} and len(rows) == len(ids)
    assert all(r[4] for r in rows)  # the ERP's document id of every journal
    posts = server.hits["post"]
    again = run(h, wh, out, server, secrets)
    assert again.accepted == [] and again.already_accepted == len(ids) and server.hits["post"] == posts
    in_erp_once(h, books, ids)


@pytest.mark.parametrize("erp", ERPS)
def test_a_business_rejection_is_recorded_with_the_erps_text_and_not_retried(erp, tmp_path, secrets, start) -> None:
    h = HARNESSES[erp]
    wh, out = published(tmp_path, erp)
    ids = ledger_ids(wh, erp)
    bad = ids[1]
    books = Books()
    server = start(h, books, reject={h.key(bad)})
    result = run(h, wh, out, server, secrets)
    assert list(result.rejected) == [bad] and sorted(result.accepted) == sorted(set(ids) - {bad})
    expected_text = {
        "netsuite": "INVALID_KEY_OR_REF: Invalid account reference key 1200",
        "sap": "AccountingDocument 0000000000: Account 0000001200 is blocked for posting",
        "oracle": f"EF04 journal {bad}: the account combination",
        "d365": f"Voucher {bad}: Account 1200 is not valid",
    }[erp]
    assert expected_text in result.rejected[bad]
    assert [(a[1], a[2]) for a in attempts(wh, bad)] == [(1, "rejected")]  # one try, no retry
    assert attempts(wh, bad)[0][5] == result.rejected[bad]
    in_erp_once(h, books, set(ids) - {bad})
    posts = server.hits["post"]
    again = run(h, wh, out, server, secrets)
    assert again.accepted == [] and not again.rejected and server.hits["post"] == posts  # no blind resend


@pytest.mark.parametrize("erp", ERPS)
def test_429_waits_its_retry_after_then_goes(erp, tmp_path, secrets, start) -> None:
    h = HARNESSES[erp]
    wh, out = published(tmp_path, erp)
    ids = ledger_ids(wh, erp)
    books = Books()
    sleeps: list[float] = []
    server = start(h, books, faults={"post": ["429"]})
    result = run(h, wh, out, server, secrets, transport=transport(sleeps))
    assert sorted(result.accepted) == ids
    assert max(sleeps) >= 1.0  # Retry-After: 1, above the 1 ms back-off of the test policy
    retried = [a for a in attempts(wh) if a[2] != "accepted"]
    assert retried and {(a[1], a[2], a[3]) for a in retried} == {(1, "retry", 429)}
    assert final_outcomes(wh) == dict.fromkeys(ids, "accepted")
    in_erp_once(h, books, ids)


@pytest.mark.parametrize("erp", ERPS)
def test_503_then_success(erp, tmp_path, secrets, start) -> None:
    h = HARNESSES[erp]
    wh, out = published(tmp_path, erp)
    ids = ledger_ids(wh, erp)
    books = Books()
    server = start(h, books, faults={"post": ["503"]})
    result = run(h, wh, out, server, secrets)
    assert sorted(result.accepted) == ids
    retried = [a for a in attempts(wh) if a[2] != "accepted"]
    assert retried and {(a[1], a[2], a[3]) for a in retried} == {(1, h.retry_503, 503)}
    assert {a[1] for a in attempts(wh) if a[0] == retried[0][0] and a[2] == "accepted"} == {2}
    in_erp_once(h, books, ids)
    assert run(h, wh, out, server, secrets).accepted == []


@pytest.mark.parametrize("erp", ["netsuite", "sap", "d365"])
def test_a_timeout_after_the_erp_booked_it_is_resent_and_never_doubles(erp, tmp_path, secrets, start) -> None:
    h = HARNESSES[erp]
    wh, out = published(tmp_path, erp)
    ids = ledger_ids(wh, erp)
    books = Books()
    server = start(h, books, faults={"post": ["slow"]}, slow_seconds=0.6)
    result = run(h, wh, out, server, secrets, transport=transport(timeout=0.25))
    assert sorted(result.accepted) == ids
    retried = [a for a in attempts(wh) if a[2] != "accepted"]
    assert retried and {(a[1], a[2], a[3]) for a in retried} == {(1, "in_doubt", None)}
    assert "timed out" in retried[0][5]
    in_erp_once(h, books, ids)  # the resend carried the same key: the ERP booked it once
    assert run(h, wh, out, server, secrets).accepted == []


def test_oracle_poll_timeout_resumes_the_same_ess_request(tmp_path, secrets, start) -> None:
    h = HARNESSES["oracle"]
    wh, out = published(tmp_path, "oracle")
    ids = ledger_ids(wh, "oracle")
    books = Books()
    server = start(h, books, faults={"poll": ["slow"]}, slow_seconds=0.6)
    result = run(h, wh, out, server, secrets, transport=transport(timeout=0.25))
    assert sorted(result.accepted) == ids and server.hits["post"] == 1  # polled again, not uploaded again
    in_doubt = [a for a in attempts(wh) if a[2] != "accepted"]
    assert {(a[2], a[4]) for a in in_doubt} == {("in_doubt", "40001")}  # the ESS request id, kept
    assert {a[4] for a in attempts(wh) if a[2] == "accepted"} == {"ESS 40001"}
    in_erp_once(h, books, ids)


def test_oracle_upload_timeout_is_held_in_doubt_not_resent_blind(tmp_path, secrets, start, capsys) -> None:
    """importBulkData has no idempotency key: an upload whose answer was lost is not sent
    again until someone checked Oracle and asked for it."""
    h = HARNESSES["oracle"]
    wh, out = published(tmp_path, "oracle")
    ids = ledger_ids(wh, "oracle")
    books = Books()
    server = start(h, books, faults={"post": ["slow"]}, slow_seconds=0.6)
    result = run(h, wh, out, server, secrets, transport=transport(timeout=0.25))
    assert sorted(result.failed) == ids and not result.accepted and server.hits["post"] == 1
    assert {(a[1], a[2]) for a in attempts(wh)} == {(1, "in_doubt")}
    again = run(h, wh, out, server, secrets)
    assert sorted(again.failed) == ids and server.hits["post"] == 1
    assert "--resend-in-doubt" in again.failed[ids[0]]
    in_erp_once(h, books, ids)  # Oracle has it once; nothing was sent twice


@pytest.mark.parametrize("erp", ERPS)
def test_a_server_dying_mid_batch_opens_the_circuit_and_the_rerun_finishes(erp, tmp_path, secrets, start) -> None:
    h = HARNESSES[erp]
    wh, out = published(tmp_path, erp)
    ids = ledger_ids(wh, erp)
    books = Books()
    # per journal (NetSuite, SAP): dies after booking the 2nd; per file (D365): after the 1st
    # import; Oracle (one file): after the upload, on the first status poll
    faults = {"netsuite": {"post": ["ok", "die"]}, "sap": {"post": ["ok", "die"]}, "d365": {"post": ["die"]}}
    server = start(h, books, faults=faults.get(erp, {"poll": ["die"]}))
    first = run(h, wh, out, server, secrets, transport=transport(max_attempts=3, threshold=3))
    assert first.failed and first.circuit_open and server.dead
    assert len(first.accepted) + len(first.failed) == len(ids)
    back = start(h, books)  # the same ERP's books, back on a new port
    second = run(h, wh, out, back, secrets)
    assert sorted(first.accepted + second.accepted) == ids and second.already_accepted == len(first.accepted)
    assert final_outcomes(wh) == dict.fromkeys(ids, "accepted")
    in_erp_once(h, books, ids)
    if erp == "oracle":
        assert back.hits["post"] == 0  # the rerun resumed the ESS request, it did not upload again


def test_netsuite_token_is_cached_and_fetched_again_on_401(tmp_path, secrets, start) -> None:
    h = HARNESSES["netsuite"]
    wh, out = published(tmp_path, "netsuite")
    ids = ledger_ids(wh, "netsuite")
    books = Books()
    server = start(h, books)
    run(h, wh, out, server, secrets)
    assert server.hits["token"] == 1 and server.hits["post"] == len(ids)  # one token for the whole run
    wh2, out2 = published(tmp_path / "again", "netsuite")
    books2 = Books()
    early = start(h, books2, token_uses=2)  # NetSuite revokes each token after two calls
    result = run(h, wh2, out2, early, secrets)
    assert sorted(result.accepted) == ids and early.hits["token"] == 3
    in_erp_once(h, books2, ids)


def test_netsuite_signs_with_es256_for_an_ec_key(tmp_path, secrets, start) -> None:
    secrets.setenv("CARELEDGER_NETSUITE_PRIVATE_KEY", _pem(EC_KEY))
    h = Harness(
        "netsuite",
        lambda books, **kw: NetSuiteMock(
            books,
            public_key=EC_KEY.public_key(),
            client_id=SECRETS["CARELEDGER_NETSUITE_CLIENT_ID"],
            certificate_id=SECRETS["CARELEDGER_NETSUITE_CERTIFICATE_ID"],
            **kw,
        ),
        lambda m: m.base,
    )
    wh, out = published(tmp_path, "netsuite")
    server = start(h, Books())
    assert sorted(run(h, wh, out, server, secrets).accepted) == ledger_ids(wh, "netsuite")
    assert server.algorithms == ["ES256"]


@pytest.mark.parametrize("erp", ERPS)
def test_wrong_credentials_stop_the_run_in_one_sentence_and_reject_nothing(erp, tmp_path, secrets, start) -> None:
    h = HARNESSES[erp]
    wh, out = published(tmp_path, erp)
    server = start(h, Books())
    secrets.setenv(
        {
            "netsuite": "CARELEDGER_NETSUITE_CERTIFICATE_ID",
            "sap": "CARELEDGER_SAP_PASSWORD",
            "oracle": "CARELEDGER_ORACLE_PASSWORD",
            "d365": "CARELEDGER_D365_CLIENT_SECRET",
        }[erp],
        "wrong",
    )
    with pytest.raises(DeliveryError, match="refused"):
        run(h, wh, out, server, secrets)
    assert all(a[2] == "failed" for a in attempts(wh))
    assert run_dry(h, wh, out, server, secrets)  # still everything pending: nothing was marked rejected


def run_dry(h, wh, out, server, monkeypatch) -> list[str]:
    lines: list[str] = []
    run(h, wh, out, server, monkeypatch, dry_run=True, echo=lines.append)
    return lines


@pytest.mark.parametrize("erp", ERPS)
def test_dry_run_prints_what_would_be_sent_and_sends_and_records_nothing(erp, tmp_path, secrets, start) -> None:
    h = HARNESSES[erp]
    wh, out = published(tmp_path, erp)
    ids = ledger_ids(wh, erp)
    server = start(h, Books())
    printed = run_dry(h, wh, out, server, secrets)
    assert sum(server.hits.values()) == 0  # not even a token request
    verb = {"netsuite": "PUT", "sap": "POST", "oracle": "POST", "d365": "POST"}[erp]
    assert printed and all(line.startswith(verb) for line in printed)
    text = "\n".join(printed)
    assert all(j in text for j in ids) or erp in ("oracle", "d365")  # per journal, or per file with counts
    with duckdb.connect(str(wh), read_only=True) as con:
        assert con.execute("select count(*) from publish.delivery_attempts").fetchone()[0] == 0


@pytest.mark.parametrize("erp", ERPS)
def test_a_period_closed_after_publishing_stops_only_its_journals_at_delivery(erp, tmp_path, secrets, start) -> None:
    h = HARNESSES[erp]
    wh, out = published(tmp_path, erp)
    # the ERP's calendar changed after publishing: 4 to 28 February became a closed period of its own
    with duckdb.connect(str(wh)) as con:
        con.execute("update core.dim_accounting_period set period_end_date = '2025-02-03' where period_id = '2025-02'")
        con.execute(
            "insert into core.dim_accounting_period values ('2025-02B', '2025-02-04', '2025-02-28', 2025, 2, 'closed')"
        )
        closed_ids = [
            r[0]
            for r in con.execute(
                "select journal_id from publish.posting_ledger where target = ? and accounting_date >= '2025-02-04' "
                "order by journal_id",
                [erp],
            ).fetchall()
        ]
    open_ids = sorted(set(ledger_ids(wh, erp)) - set(closed_ids))
    assert closed_ids and open_ids
    closed_period = "2025-02B"
    books = Books()
    server = start(h, books)
    result = run(h, wh, out, server, secrets)
    assert sorted(result.stopped) == sorted(closed_ids)
    assert all(f"period {closed_period} is closed" in m for m in result.stopped.values())
    assert sorted(result.accepted) == open_ids
    in_erp_once(h, books, open_ids)
    assert {(a[1], a[2]) for a in attempts(wh) if a[0] in closed_ids} == {(0, "stopped")}


def test_a_payload_that_no_longer_matches_the_ledger_is_stopped(tmp_path, secrets, start) -> None:
    h = HARNESSES["netsuite"]
    wh, out = published(tmp_path, "netsuite")
    ids = ledger_ids(wh, "netsuite")
    (path,) = (out / "netsuite").glob("*.json")
    text = path.read_text()
    path.write_text(text.replace('"debit": 1200.10', '"debit": 1210.10', 1))
    assert path.read_text() != text
    books = Books()
    server = start(h, books)
    result = run(h, wh, out, server, secrets)
    (bad,) = result.stopped
    assert (
        result.stopped[bad].startswith("EU02: the payload carries debits") and "publish it again" in result.stopped[bad]
    )
    in_erp_once(h, books, set(ids) - {bad})


def test_no_secret_is_ever_logged_or_recorded(tmp_path, secrets, start, caplog, capsys) -> None:
    caplog.set_level(logging.DEBUG)
    # the secrets (identifiers such as the tenant or the client id may show in URLs and logs)
    values = [
        SECRETS[n] for n in ("CARELEDGER_SAP_PASSWORD", "CARELEDGER_ORACLE_PASSWORD", "CARELEDGER_D365_CLIENT_SECRET")
    ]
    values += [_pem(RSA_KEY).splitlines()[1]]
    values += [
        base64.b64encode(f"{SECRETS[u]}:{SECRETS[p]}".encode()).decode()
        for u, p in (
            ("CARELEDGER_SAP_USER", "CARELEDGER_SAP_PASSWORD"),
            ("CARELEDGER_ORACLE_USER", "CARELEDGER_ORACLE_PASSWORD"),
        )
    ]
    for erp in ERPS:
        h = HARNESSES[erp]
        wh, out = published(tmp_path / erp, erp)
        bad = ledger_ids(wh, erp)[0]
        server = start(h, Books(), faults={"post": ["503", "429"]}, reject={h.key(bad)})
        run(h, wh, out, server, secrets)
        with duckdb.connect(str(wh), read_only=True) as con:
            recorded = repr(con.execute("select * from publish.delivery_attempts").fetchall())
        ns_tokens = getattr(server, "tokens", {})
        for value in [*values, *ns_tokens]:
            assert value not in recorded and value not in caplog.text, (erp, value)
    printed = capsys.readouterr()
    assert not any(v in printed.out + printed.err for v in values)


def test_missing_secrets_are_one_sentence(tmp_path, monkeypatch) -> None:
    wh, out = published(tmp_path, "sap")
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    for erp, needed in (
        ("sap", "CARELEDGER_SAP_USER"),
        ("oracle", "CARELEDGER_ORACLE_USER"),
        ("netsuite", "CARELEDGER_NETSUITE_CLIENT_ID"),
        ("d365", "CARELEDGER_D365_TENANT_ID"),
    ):
        with pytest.raises(DeliveryError, match=needed):
            deliver_erp(wh, erp, "http://127.0.0.1:9", out)


def test_a_netsuite_key_that_is_not_pem_is_one_sentence(tmp_path, secrets) -> None:
    wh, out = published(tmp_path, "netsuite")
    secrets.setenv("CARELEDGER_NETSUITE_PRIVATE_KEY", "not a key")
    with pytest.raises(DeliveryError, match="is not an unencrypted PEM private key"):
        deliver_erp(wh, "netsuite", "http://127.0.0.1:9", out)


def test_cli_dry_run_prints_and_sends_nothing(tmp_path, secrets, start, capsys) -> None:
    from careledger.cli import main

    home = tmp_path / "home"
    home.mkdir()
    secrets.setenv("CARELEDGER_HOME", str(home))
    wh = make_warehouse(home / "warehouse.duckdb")
    publish_erp(wh, "sap", home / "exports" / "erp")
    server = start(HARNESSES["sap"], Books())
    assert main(["deliver", "erp", "--target", "sap", "--endpoint", server.url, "--dry-run"]) == 0
    printed = capsys.readouterr().out
    n = len(ledger_ids(wh, "sap"))
    assert printed.count("JournalEntryBulkCreateRequest") == n
    assert f"dry run, {n} requests would be sent, nothing sent" in printed and sum(server.hits.values()) == 0
    assert main(["deliver", "erp", "--target", "sap", "--endpoint", server.url]) == 0
    assert f"sap: {n} accepted, 0 rejected" in capsys.readouterr().out and server.hits["post"] == n
