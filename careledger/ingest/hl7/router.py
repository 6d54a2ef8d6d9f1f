"""The ``hl7`` format: one HL7 v2 transport, one loader per message type.

``LOADERS`` is the one list of message types careledger lands (MSH-9.1 -> loader module with
``land_messages(ctx, messages) -> accepted``): ADT, DFT and BAR are siblings; adding a type is
adding a module and a line here.

``load(ctx)`` is the format loader the landing core calls for every HL7 v2 file. A file with
no DFT or BAR message (every drop-folder ADT export) goes to the ADT loader unchanged (its bulk
SQL path and the ``hl7``-package reference path; identical rows, quarantine and findings).
Any other file is cut into messages once by the transport (``split_messages``: MLLP frames,
batch envelopes, any segment ending) and each message goes to the loader of its MSH-9.1 with
its index in the file; messages without a readable MSH go to the ADT loader, which quarantines
them as it always has (MISSING_MSH, BAD_MSH, ...); a message type with no loader is
quarantined as ``UNSUPPORTED_MESSAGE_TYPE`` with a reason naming the type.
"""

from __future__ import annotations

import re
from types import ModuleType

from careledger.ingest.hl7 import adt, bar, dft
from careledger.ingest.hl7.transport import RawMessage, decode_hl7_bytes, message_type, parse_msh, split_messages
from careledger.ingest.landing import LoadContext, LoadCounts

LOADERS: dict[str, ModuleType] = {"ADT": adt, "DFT": dft, "BAR": bar}
TABLES: tuple[str, ...] = tuple(t for module in LOADERS.values() for t in module.TABLES.values())
_OTHER_TYPES = re.compile(rb"(?<![A-Za-z0-9])(" + b"|".join(t.encode() for t in LOADERS if t != "ADT") + rb")\b")


def load(ctx: LoadContext) -> LoadCounts:
    """Land one HL7 v2 file, routing each message to the loader of its type."""
    data = ctx.path.read_bytes()
    if not _OTHER_TYPES.search(data):
        return adt.load(ctx)
    text, decode_findings = decode_hl7_bytes(data, ctx.path.name)
    messages, split_findings = split_messages(text, ctx.path.name)
    routed: dict[str, list[RawMessage]] = {t: [] for t in LOADERS}
    unsupported: list[RawMessage] = []
    for msg in messages:
        mtype = message_type(msg)
        if mtype is None or mtype == "ADT":
            routed["ADT"].append(msg)  # no readable MSH: the ADT loader quarantines it as before
        elif mtype in LOADERS:
            routed[mtype].append(msg)
        else:
            unsupported.append(msg)
    if not any(routed[t] for t in LOADERS if t != "ADT"):
        return adt.load(ctx)  # "DFT"/"BAR" appeared only as text: an ADT file like any other
    ctx.findings.extend(decode_findings)
    ctx.findings.extend(split_findings)
    accepted = 0
    for mtype, module in LOADERS.items():
        if routed[mtype]:
            accepted += module.land_messages(ctx, routed[mtype])
    for msg in unsupported:
        ctx.quarantine(msg.index, "UNSUPPORTED_MESSAGE_TYPE", unsupported_reason(ctx.path.name, msg), msg.text)
    return LoadCounts(records_read=len(messages), records_accepted=accepted)


def unsupported_reason(source_name: str, msg: RawMessage) -> str:
    header = parse_msh(msg.lines[0])
    kind = "^".join(p for p in (header.message_type, header.trigger_event) if p)
    return (
        f"{source_name} message {msg.index}: MSH-9 is {kind}: careledger has no loader for "
        f"{header.message_type} messages (it lands {', '.join(LOADERS)})"
    )
