"""Delivery transport against a scripted server on 127.0.0.1: 429 with Retry-After, 503 then
success, a timeout, a dead endpoint opening the circuit, no retry on a business answer."""

from __future__ import annotations

import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from careledger.config import secret
from careledger.transport import (
    CircuitBreaker,
    CircuitOpenError,
    RetryPolicy,
    TransientError,
    Transport,
    safe_endpoint,
)


class Scripted(ThreadingHTTPServer):
    """Answers each request with the next (status, headers, delay) of its script."""

    def __init__(self, script: list[tuple[int, dict[str, str], float]]) -> None:
        self.script = list(script)
        self.hits = 0
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/post"


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server: Scripted = self.server  # type: ignore[assignment]
        status, headers, delay = server.script.pop(0) if server.script else (200, {}, 0.0)
        server.hits += 1
        time.sleep(delay)
        body = b'{"ok": true}'
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def serve():
    servers = []

    def start(script):
        s = Scripted(script)
        threading.Thread(target=s.serve_forever, daemon=True).start()
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def transport(sleeps: list[float], **policy) -> Transport:
    return Transport(
        policy=RetryPolicy(timeout=policy.pop("timeout", 2.0), **policy), sleep=sleeps.append, rng=random.Random(1)
    )


def test_429_waits_at_least_retry_after_then_succeeds(serve) -> None:
    server = serve([(429, {"Retry-After": "7"}, 0.0)])
    sleeps: list[float] = []
    response = transport(sleeps).request("POST", server.url, content=b"x")
    assert response.status_code == 200 and server.hits == 2
    assert sleeps == [pytest.approx(7.0)]


def test_503_then_success_backs_off_exponentially_with_jitter(serve) -> None:
    server = serve([(503, {}, 0.0), (503, {}, 0.0)])
    sleeps: list[float] = []
    assert transport(sleeps, base_delay=0.5, jitter=0.5).request("POST", server.url).status_code == 200
    assert server.hits == 3
    assert 0.5 <= sleeps[0] <= 0.75 and 1.0 <= sleeps[1] <= 1.5


def test_business_answer_is_not_retried(serve) -> None:
    server = serve([(400, {}, 0.0)])
    sleeps: list[float] = []
    assert transport(sleeps).request("POST", server.url).status_code == 400
    assert server.hits == 1 and sleeps == []


def test_timeout_is_in_doubt_and_bounded(serve) -> None:
    server = serve([(200, {}, 0.6)] * 3)
    sleeps: list[float] = []
    with pytest.raises(TransientError) as info:
        transport(sleeps, timeout=0.2, max_attempts=3, base_delay=0.01).request("POST", server.url)
    assert info.value.in_doubt and "timed out" in str(info.value)
    assert len(sleeps) == 2  # three tries, two waits


def test_dead_endpoint_opens_the_circuit(serve) -> None:
    server = serve([])
    url = server.url
    server.shutdown()
    server.server_close()
    sleeps: list[float] = []
    t = Transport(
        policy=RetryPolicy(max_attempts=4, base_delay=0.01), breaker=CircuitBreaker(threshold=5), sleep=sleeps.append
    )
    with pytest.raises(TransientError, match="cannot connect") as info:
        t.request("POST", url)
    assert not info.value.in_doubt  # nothing was sent
    with pytest.raises(TransientError):
        t.request("POST", url)  # the 5th failure in a row opens the circuit
    assert t.breaker.is_open
    with pytest.raises(CircuitOpenError, match="circuit open"):
        t.request("POST", url)


def test_endpoint_in_messages_carries_no_credentials() -> None:
    assert (
        safe_endpoint("https://user:pw@erp.example.com:8443/api/post?token=abc")
        == "https://erp.example.com:8443/api/post"
    )


def test_secrets_from_env_or_a_file_named_by_one(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CARELEDGER_SAP_PASSWORD", raising=False)
    monkeypatch.delenv("CARELEDGER_SAP_PASSWORD_FILE", raising=False)
    assert secret("sap_password") is None
    (tmp_path / "pw").write_text("s3cret\n")
    monkeypatch.setenv("CARELEDGER_SAP_PASSWORD_FILE", str(tmp_path / "pw"))
    assert secret("sap_password") == "s3cret"
    monkeypatch.setenv("CARELEDGER_SAP_PASSWORD", "from-env")
    assert secret("sap_password") == "from-env"
