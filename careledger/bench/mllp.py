"""``careledger bench mllp``: MLLP listener throughput and ACK latency on loopback.

Starts the listener in-process (journal, fsync, micro-batches landed into a scratch warehouse),
sends ``messages`` ADT messages from ``senders`` concurrent connections, one at a time per
connection as interface engines do, and reports messages per second and the client-side ACK
latency percentiles (send of the frame to receipt of the whole ACK)."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from pathlib import Path

from careledger.ingest import mllp
from careledger.ingest.hl7.transport import MllpDecoder, frame


def _message(sender: int, i: int) -> bytes:
    ctrl = f"B{sender}-{i:07d}"
    return "\r".join(
        [
            f"MSH|^~\\&|EPICADT|FAC{sender}|CARELEDGER|WAREHOUSE|20260105083000||ADT^A01^ADT_A01|{ctrl}|P|2.5",
            "EVN|A01|20260105083000",
            f"PID|1||MRN{sender}{i:07d}^^^CL^MR||DOE^JANE||19800102|F",
            f"PV1|1|I|D-1^101^A^L-1||||1234567893^SMITH^JOHN|||MED||||7|||||V{sender}{i:07d}",
        ]
    ).encode()


def bench_mllp(work: Path, messages: int = 10_000, senders: int = 4) -> dict:
    config = mllp.ListenerConfig(port=0)
    listener = mllp.Listener(work, work / "warehouse.duckdb", work / "landing", config)
    ready = threading.Event()
    thread = threading.Thread(target=lambda: listener.run(lambda _: ready.set(), signals=False), daemon=True)
    thread.start()
    ready.wait(30)
    latencies: list[list[float]] = [[] for _ in range(senders)]

    def send(s: int) -> None:
        sock = socket.create_connection(("127.0.0.1", listener.port))
        decoder = MllpDecoder()
        for i in range(messages // senders):
            started = time.perf_counter()
            sock.sendall(frame(_message(s, i)))
            got: list[bytes] = []
            while not got:
                got = decoder.feed(sock.recv(65536))
            latencies[s].append(time.perf_counter() - started)
        sock.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=send, args=(s,)) for s in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    acked_seconds = time.perf_counter() - started
    listener.stop()
    thread.join()
    drained_seconds = time.perf_counter() - started
    all_ms = sorted(x * 1000 for part in latencies for x in part)
    q = statistics.quantiles(all_ms, n=100)
    return {
        "messages": len(all_ms),
        "senders": senders,
        "seconds_to_last_ack": round(acked_seconds, 2),
        "messages_per_second": round(len(all_ms) / acked_seconds, 1),
        "ack_ms_p50": round(q[49], 2),
        "ack_ms_p99": round(q[98], 2),
        "seconds_until_landed_and_stopped": round(drained_seconds, 2),
        "messages_landed": listener.lander.messages_landed,
        "micro_batches": listener.lander.batches_landed,
    }
