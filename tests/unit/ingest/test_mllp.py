"""The MLLP listener: acknowledgement codes and structure, enhanced mode, dedupe on resend,
micro-batches landed through the landing core, and exactly-once under SIGKILL."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from careledger.ingest import mllp
from careledger.ingest.hl7.transport import MllpDecoder, frame, parse_msh

MSH = "MSH|^~\\&|EPICADT|{fac}|CARELEDGER|WAREHOUSE|20260105083000||{type}|{ctrl}|{pid}|2.5{enhanced}"


def adt(ctrl: str, *, fac: str = "GH", type_: str = "ADT^A01^ADT_A01", pid: str = "P", enhanced: str = "") -> bytes:
    return "\r".join(
        [
            MSH.format(fac=fac, type=type_, ctrl=ctrl, pid=pid, enhanced=enhanced),
            "EVN|A01|20260105083000",
            f"PID|1||MRN{ctrl}^^^CL^MR||DOE^JANE||19800102|F",
            f"PV1|1|I|D-1^101^A^L-1||||1234567893^SMITH^JOHN|||MED||||7|||||V{ctrl}",
        ]
    ).encode()


class Client:
    """A plain socket MLLP client: one message at a time, as interface engines send."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.decoder = MllpDecoder()
        self.pending: list[bytes] = []

    def send(self, message: bytes) -> None:
        self.sock.sendall(frame(message))

    def receive(self) -> bytes:
        while not self.pending:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed by the listener")
            self.pending += self.decoder.feed(data)
        return self.pending.pop(0)

    def call(self, message: bytes) -> bytes:
        self.send(message)
        return self.receive()

    def close(self) -> None:
        self.sock.close()


def segments(ack: bytes) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for seg in ack.decode().split("\r"):
        if seg:
            out.setdefault(seg[:3], []).append(seg)
    return out


def msa(ack: bytes) -> tuple[str, str]:
    fields = segments(ack)["MSA"][0].split("|")
    return fields[1], fields[2]


@pytest.fixture
def listener(tmp_path: Path):
    config = mllp.ListenerConfig(port=0, batch_messages=50, batch_seconds=0.2)
    lis = mllp.Listener(tmp_path, tmp_path / "warehouse.duckdb", tmp_path / "landing", config)
    ready = threading.Event()
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(lis.run(on_ready=lambda port: ready.set(), signals=False)), daemon=True
    )
    thread.start()
    assert ready.wait(10)
    yield lis
    lis.stop()
    thread.join(20)
    assert result == [0]


def test_good_message_is_acknowledged_aa_after_it_is_in_the_journal(listener: mllp.Listener, tmp_path: Path) -> None:
    client = Client(listener.port)
    ack = client.call(adt("C1", fac="NORTH"))
    client.close()
    assert msa(ack) == ("AA", "C1")
    header = parse_msh(segments(ack)["MSH"][0])
    # sender and receiver swapped, MSH-9 ACK^<trigger>^ACK, a new control id, MSH-11/12 echoed
    assert (header.sending_application, header.sending_facility) == ("CARELEDGER", "WAREHOUSE")
    assert (header.receiving_application, header.receiving_facility) == ("EPICADT", "NORTH")
    assert (header.message_type, header.trigger_event, header.message_structure) == ("ACK", "A01", "ACK")
    assert header.control_id and header.control_id != "C1"
    assert (header.processing_id, header.version) == ("P", "2.5")
    lines = (tmp_path / "mllp" / "journal.ndjson").read_text().splitlines()
    assert [(json.loads(x)["f"], json.loads(x)["c"]) for x in lines] == [("NORTH", "C1")]


def test_ack_codes_for_errored_unsupported_and_garbled(listener: mllp.Listener) -> None:
    client = Client(listener.port)
    no_pid = b"\r".join(line for line in adt("C2").split(b"\r") if not line.startswith(b"PID"))
    ack = client.call(no_pid)
    assert msa(ack) == ("AE", "C2")
    err = segments(ack)["ERR"][0].split("|")
    assert err[3].startswith("101^") and err[4] == "W" and "MISSING_PID" in err[8]
    for message, code, control in (
        (adt("C3", type_="ORU^R01^ORU_R01"), "200", "C3"),
        (adt("C4", type_="ADT^Z99^ADT_A01"), "201", "C4"),
        (adt("C5", pid="T"), "202", "C5"),
        (b"this is not HL7 at all", "207", ""),
        (adt("C6") + b"\rthis line is not a segment", "207", "C6"),
    ):
        ack = client.call(message)
        assert msa(ack) == ("AR", control), message
        assert segments(ack)["ERR"][0].split("|")[3].startswith(code + "^")
    # rejected messages are not journaled: only the AE one is
    client.close()
    assert listener.journal.count == 1


def test_enhanced_mode_commit_acknowledgements(listener: mllp.Listener) -> None:
    client = Client(listener.port)
    assert msa(client.call(adt("E1", enhanced="|||AL|NE"))) == ("CA", "E1")
    # commit on error only, application ack always: only the AA comes back
    assert msa(client.call(adt("E2", enhanced="|||ER|AL"))) == ("AA", "E2")
    # a rejected message under AL/AL: CR, then the application AR
    client.send(adt("E3", type_="ORU^R01^ORU_R01", enhanced="|||AL|AL"))
    assert [msa(client.receive()), msa(client.receive())] == [("CR", "E3"), ("AR", "E3")]
    # SU: a commit ACK only on success; NE never
    assert msa(client.call(adt("E4", enhanced="|||SU|NE"))) == ("CA", "E4")
    client.send(adt("E5", enhanced="|||NE|NE"))
    assert msa(client.call(adt("E6"))) == ("AA", "E6")  # nothing came back for E5
    client.close()
    assert listener.journal.count == 5


def test_resend_is_deduplicated_on_facility_and_control_id(listener: mllp.Listener, tmp_path: Path) -> None:
    client = Client(listener.port)
    assert msa(client.call(adt("D1", fac="NORTH"))) == ("AA", "D1")
    again = client.call(adt("D1", fac="NORTH"))
    assert msa(again) == ("AA", "D1") and b"duplicate" in again
    assert msa(client.call(adt("D1", fac="SOUTH"))) == ("AA", "D1")  # another sender's D1 is another message
    client.close()
    assert listener.journal.count == 2
    deadline = time.monotonic() + 10
    while listener.lander.messages_landed < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listener.lander.messages_landed == 2


def test_micro_batches_land_with_lineage_and_state(tmp_path: Path) -> None:
    """Journal -> slice files -> land_file: one batch each, offsets recorded, a re-run lands nothing twice."""
    journal = mllp.Journal(tmp_path / "mllp" / "journal.ndjson")
    journal.append([(("GH", f"M{i}"), adt(f"M{i}").decode()) for i in range(30)])
    lander = mllp.Lander(journal.path, tmp_path / "mllp" / "state.json", tmp_path / "landing", tmp_path / "w.duckdb")
    assert lander.land_pending(journal.durable_size) == 30
    journal.append([(("GH", f"M{i}"), adt(f"M{i}").decode()) for i in range(25, 40)])  # 25-29 are resends
    assert journal.count == 40
    assert lander.land_pending(journal.durable_size) == 10
    assert lander.land_pending(journal.durable_size) == 0
    # a crash after a slice was written but before its offset was saved: the slice lands once
    (tmp_path / "mllp" / "state.json").unlink()
    assert lander.land_pending(journal.durable_size) == 0  # both slices again, both skipped by sha256
    assert lander.landed_offset() == journal.durable_size
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    batches = con.execute(
        "select file_name, format, rows_read, status from raw_meta.batches order by file_name"
    ).fetchall()
    assert [b[1:] for b in batches] == [("hl7", 30, "landed"), ("hl7", 10, "landed")]
    assert con.execute("select count(*), count(distinct message_control_id) from raw_ehr.adt_messages").fetchone() == (
        40,
        40,
    )
    con.close()


def test_a_torn_journal_line_is_cut_on_open(tmp_path: Path) -> None:
    journal = mllp.Journal(tmp_path / "j.ndjson")
    journal.append([(("GH", "T1"), "MSH|x")])
    journal.close()
    with (tmp_path / "j.ndjson").open("ab") as fh:
        fh.write(b'{"f": "GH", "c": "T2", "m": "MSH|')  # killed mid-write
    reopened = mllp.Journal(tmp_path / "j.ndjson")
    assert reopened.count == 1 and reopened.keys == {("GH", "T1")}
    assert reopened.append([(("GH", "T2"), "MSH|y"), (("GH", "T1"), "MSH|x")]) == [False, True]
    assert len((tmp_path / "j.ndjson").read_text().splitlines()) == 2


# ---------------------------------------------------------------------------- SIGKILL


def _start(home: Path, port: int) -> tuple[subprocess.Popen, int]:
    env = {**os.environ, "CARELEDGER_HOME": str(home)}
    cmd = [sys.executable, "-m", "careledger.cli", "listen", "--port", str(port), "--batch-messages", "400"]
    proc = subprocess.Popen(cmd + ["--batch-seconds", "0.5"], env=env, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    assert line.startswith("listening on"), line
    return proc, int(line.rsplit(":", 1)[1])


def _sender(port_ref: list[int], sender: int, n: int, acked: list[int], errors: list[str], deadline: float) -> None:
    i = 0
    client: Client | None = None
    while i < n and time.monotonic() < deadline:
        try:
            if client is None:
                client = Client(port_ref[0], timeout=5)
            control = f"S{sender}-{i:05d}"
            code, msa2 = msa(client.call(adt(control, fac=f"FAC{sender}")))
            if (code, msa2) != ("AA", control):
                errors.append(f"{control}: {code} {msa2}")
            i += 1  # acknowledged: the next one
            acked[sender] = i
        except OSError:
            if client is not None:
                client.close()
            client = None
            time.sleep(0.05)  # the listener is down: resend this message when it is back
    if client is not None:
        client.close()
    if i < n:
        errors.append(f"sender {sender} stopped at {i} of {n}")


def run_kill_test(tmp_path: Path, total: int, kills: int, seed: int) -> None:
    home = tmp_path / "home"
    senders = 4
    per_sender = total // senders
    proc, port = _start(home, 0)
    port_ref = [port]
    acked = [0] * senders
    errors: list[str] = []
    deadline = time.monotonic() + 240
    threads = [
        threading.Thread(target=_sender, args=(port_ref, s, per_sender, acked, errors, deadline))
        for s in range(senders)
    ]
    for t in threads:
        t.start()
    rng = random.Random(seed)
    for k in range(kills):
        target = total * (k + 1) / (kills + 1) + rng.uniform(-0.05, 0.05) * total
        while sum(acked) < target and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc, _ = _start(home, port)
    for t in threads:
        t.join()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    assert not errors, errors[:5]
    # every message exactly once: in the journal, in the raw table, against the senders' truth
    truth = {(f"FAC{s}", f"S{s}-{i:05d}") for s in range(senders) for i in range(per_sender)}
    lines = [json.loads(x) for x in (home / "mllp" / "journal.ndjson").read_text().splitlines()]
    assert len(lines) == len(truth) and {(x["f"], x["c"]) for x in lines} == truth
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    rows = con.execute("select sending_facility, message_control_id from raw_ehr.adt_messages").fetchall()
    failed = con.execute("select count(*) from raw_meta.batches where status = 'failed'").fetchone()[0]
    con.close()
    assert len(rows) == len(truth) and set(rows) == truth
    assert failed == 0


def test_sigkill_during_a_run_loses_nothing_and_lands_once(tmp_path: Path) -> None:
    run_kill_test(tmp_path, total=2000, kills=2, seed=7)


@pytest.mark.e2e
def test_sigkill_10k_messages_from_4_senders(tmp_path: Path) -> None:
    run_kill_test(tmp_path, total=10_000, kills=4, seed=11)
