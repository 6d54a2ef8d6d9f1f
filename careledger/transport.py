"""HTTP with bounded retries, exponential back-off with jitter, and a circuit breaker, and the
cached OAuth 2.0 client-credentials token: shared by the ERP delivery clients
(``careledger.publish.delivery``) and the FHIR Bulk Data client (``careledger.ingest.fhir.bulk``).

Retried: HTTP 429 (waiting at least its ``Retry-After``), 5xx, timeouts and connection
errors. Not retried: any other answer, in particular a business rejection, which the
client reads from the response. The sleep and the random source are injectable so tests
run in milliseconds. Credentials never appear in what this module logs or raises: errors
name the endpoint as scheme://host/path only.
"""

from __future__ import annotations

import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


def safe_endpoint(url: str) -> str:
    """scheme://host[:port]/path of ``url``: no user info, no query (where tokens may sit)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class TransientError(RuntimeError):
    """A try that may succeed when repeated. ``in_doubt``: the request may have reached the ERP
    (a timeout or a dropped connection after sending), so a resend must be idempotent.
    ``document_id``: what the ERP already acknowledged before the failure (an Oracle ESS
    request id), so the next try resumes from it instead of sending again. ``response``: the
    answer of a retryable HTTP status, for a client that reads its body (a FHIR server's
    OperationOutcome)."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        retry_after: float | None = None,
        in_doubt: bool = False,
        document_id: str | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message)
        self.response = response
        self.http_status = http_status
        self.retry_after = retry_after
        self.in_doubt = in_doubt
        self.document_id = document_id


class CircuitOpenError(RuntimeError):
    """The endpoint failed too often in a row; nothing more is sent to it in this run."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.5  # seconds before the 2nd try; doubles each try
    max_delay: float = 30.0
    jitter: float = 0.5  # up to +50 % random extra, so many clients do not retry in step
    timeout: float = 30.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after try ``attempt`` (1-based) failed."""
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        backoff *= 1 + self.jitter * rng.random()
        return max(backoff, min(retry_after, self.max_delay)) if retry_after is not None else backoff


@dataclass
class CircuitBreaker:
    """Opens after ``threshold`` failed tries in a row; a success closes it again."""

    threshold: int = 6
    failures: int = 0

    @property
    def is_open(self) -> bool:
        return self.failures >= self.threshold

    def success(self) -> None:
        self.failures = 0

    def failure(self) -> None:
        self.failures += 1


def retry_after(response: httpx.Response) -> float | None:
    """A response's ``Retry-After`` in seconds, or None (absent, or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own back-off


@dataclass
class Transport:
    """One endpoint's HTTP client with the retry policy and circuit breaker of a delivery run."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    client: httpx.Client | None = None

    def __post_init__(self) -> None:
        self.client = self.client or httpx.Client(timeout=self.policy.timeout)

    def try_once(self, method: str, url: str, *, sink: Path | None = None, **kwargs) -> httpx.Response:
        """One try; raises :class:`TransientError` for what may be retried. With ``sink``, a 200
        answer's body is streamed into that file (a download larger than memory) instead of read."""
        if self.breaker.is_open:
            raise CircuitOpenError(
                f"{safe_endpoint(url)} failed {self.breaker.failures} times in a row; circuit open, "
                "nothing more is sent in this run. Rerun when the endpoint is back."
            )
        where = f"{method} {safe_endpoint(url)}"
        try:
            response = self._send(method, url, sink, kwargs)
        except httpx.ConnectError as exc:
            self.breaker.failure()
            raise TransientError(f"{where}: cannot connect ({type(exc).__name__})") from exc
        except httpx.TimeoutException as exc:
            self.breaker.failure()
            in_doubt = not isinstance(exc, httpx.ConnectTimeout)
            raise TransientError(f"{where}: timed out ({type(exc).__name__})", in_doubt=in_doubt) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            self.breaker.failure()
            raise TransientError(f"{where}: connection dropped ({type(exc).__name__})", in_doubt=True) from exc
        if response.status_code in RETRYABLE_STATUS:
            self.breaker.failure()
            raise TransientError(
                f"{where}: HTTP {response.status_code}",
                http_status=response.status_code,
                retry_after=retry_after(response),
                in_doubt=response.status_code != 429,
                response=response,
            )
        self.breaker.success()
        return response

    def _send(self, method: str, url: str, sink: Path | None, kwargs: dict) -> httpx.Response:
        if sink is None:
            return self.client.request(method, url, **kwargs)
        response = self.client.send(self.client.build_request(method, url, **kwargs), stream=True)
        try:
            if response.status_code == 200:
                with sink.open("wb") as fh:
                    for chunk in response.iter_bytes(1 << 20):
                        fh.write(chunk)
            else:
                response.read()
        finally:
            response.close()
        return response

    def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        """Up to ``policy.max_attempts`` tries with back-off; the last :class:`TransientError`
        propagates when they are used up. Use only for idempotent requests."""
        for attempt in range(1, self.policy.max_attempts + 1):
            try:
                return self.try_once(method, url, **kwargs)
            except TransientError as exc:
                if attempt == self.policy.max_attempts or self.breaker.is_open:
                    raise
                wait = self.policy.delay(attempt, exc.retry_after, self.rng)
                log.info("%s; try %d of %d again in %.2fs", exc, attempt + 1, self.policy.max_attempts, wait)
                self.sleep(wait)
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


class ClientCredentialsToken(ABC):
    """An OAuth 2.0 client-credentials token, cached until a minute before it expires.
    Subclasses set ``url``, ``clock`` and ``refusal`` (the exception a refused token request
    raises, carrying :meth:`refused`'s sentence) and say what they send and what a refusal means."""

    url: str
    clock: Callable[[], float]
    refusal: type[Exception] = RuntimeError
    _token: str | None = None
    _expires: float = 0.0
    fetched: int = 0  # tokens fetched (a cached one is not)

    @abstractmethod
    def form(self) -> dict[str, str]:
        """The token request's form fields."""

    @abstractmethod
    def refused(self, status: int) -> str:
        """The one sentence for a token request refused with HTTP ``status``."""

    def get(self, transport: Transport) -> str:
        if self._token and self.clock() < self._expires:
            return self._token
        response = transport.try_once("POST", self.url, data=self.form())
        if response.status_code != 200:
            raise self.refusal(self.refused(response.status_code))
        data = response.json()
        self._token = data["access_token"]
        self._expires = self.clock() + int(data.get("expires_in", 3600)) - 60
        self.fetched += 1
        return self._token

    def invalidate(self) -> None:
        self._token = None
