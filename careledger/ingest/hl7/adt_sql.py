"""SQL for the bulk HL7 v2 ADT path (used by ``careledger.ingest.hl7.adt.load``).

The statements here reproduce, column for column, what ``hl7_adt._Builder`` extracts with the
``hl7`` package, for messages that pass every check the Python path makes without a finding:

- lines: ``\\r`` splits (the caller has turned ``\\r\\n`` and ``\\n`` into ``\\r``), each line
  stripped of exactly the characters Python's ``str.strip()`` removes, blank lines dropped,
  every MSH (or the first line of the file) starts a message;
- fields by the field separator; repetition, component and subcomponent by position, which is
  what python-hl7's nested containers give (``Segment(n)`` is field n, MSH-1 is the separator);
- values: empty -> null, escape sequences ``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\`` decoded, stripped,
  empty -> null; a value with any other escape sequence (hex, highlighting, ...) is not
  decoded here: its message is handed to the Python path;
- timestamps: ``YYYY[MM[DD[HH[MM[SS[.S{1,6}]]]]]][+/-ZZZZ]`` with the calendar checks
  ``datetime()`` makes; an offset is dropped (the caller reports it).

Everything is generated for one file's delimiters (ASCII punctuation only, see
``file_delimiters``) and runs on temporary tables of the load's connection.

What makes it fast (measured on a ~1,100-message file, see docs/benchmarks.md):

- short statements: DuckDB's bind + optimize time grows with expression size, and nested
  ``split_part`` is the worst case (60 values x 3 nested calls took ~0.3 s to bind, re-done after
  every ``con.register``); each (field, repetition) is now split into components once and a value
  is ``string_split(component, sub)[n]``; the decode/strip expression is one lambda over the
  message's list of raw values; the six timestamps one lambda over a list. Binding went from
  ~0.36 s to ~15 ms for the message statement.
- no regex per value or line: whitespace at a value's ends is found by two codepoint look-ups
  (``_ws_edge``); segments by ``list_filter(lines, starts_with)``.
- plain files (``is_plain``: no escape character outside MSH-2, no whitespace next to a
  delimiter or segment end, as every simulator file) skip decode and strip entirely and are cut
  into messages by one ``string_split`` at ``\\rMSH``.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from careledger.sql import literal

# the characters Python's str.strip() removes (str.isspace), as one SQL string expression
# (= "".join(chr(c) for c in range(0x110000) if chr(c).isspace()); tests/unit/ingest checks it)
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_ASCII_WHITESPACE = "".join(c for c in PY_WHITESPACE if c.isascii() and c not in "\r\n")
WS_SQL = "'" + PY_WHITESPACE + "'"  # a literal: no quote among them

TS_NAMES = "['y', 'mo', 'd', 'h', 'mi', 's', 'f', 'z']"
TS_RE = r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$"
MARK = "\uffff"  # a noncharacter; files containing it take the Python path
MSH_CANDIDATE = re.compile(r"(?:^|\r)[^\S\r]*MSH(.)(.)(.)(.)(.)")
MESSAGE_SEGMENTS = ("MSH", "EVN", "PID", "PV1", "PV2", "MRG")
CHILD_SEGMENTS = ("DG1", "PR1", "IN1")
# the ADT trigger events the warehouse models; both ADT paths (this SQL and adt.py) read it here
KNOWN_EVENTS = ("A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A11", "A12", "A13", "A40")


@dataclass(frozen=True)
class Delimiters:
    field: str
    component: str
    repetition: str
    escape: str
    subcomponent: str

    @property
    def msh_prefix(self) -> str:
        """What the first 9 characters of every MSH of the file must be for the SQL path."""
        return f"MSH{self.field}{self.component}{self.repetition}{self.escape}{self.subcomponent}{self.field}"


def file_delimiters(text: str) -> Delimiters | None:
    """The delimiters of the file's first MSH, when they are 5 distinct ASCII punctuation marks."""
    m = MSH_CANDIDATE.search(text)
    if not m:
        return None
    chars = m.groups()
    if len(set(chars)) != 5 or any(c not in string.punctuation for c in chars):
        return None
    return Delimiters(*chars)


def is_plain(text: str, d: Delimiters) -> bool:
    """True when no value of the file can need decoding or stripping: no escape character outside
    the MSH encoding characters, and no whitespace (str.isspace) next to a delimiter, a segment
    end (``text`` has ``\\r`` ends only) or the ends of the text. A value's ends always touch one
    of those, so for such a file ``value(raw)`` is ``nullif(raw, '')``. Substring tests and one
    ``bytes.translate`` (~4 ms for a 600 kB file; a Python regex over the text costs ~25-75 ms)."""
    if text.count(d.escape) != text.count(d.msh_prefix):  # each MSH-2 holds the escape character once
        return False
    inner = text.strip("\r")
    if inner[:1].isspace() or inner[-1:].isspace():
        return False
    bounds = (d.field, d.component, d.repetition, d.subcomponent, "\r")
    if text.isascii():  # one pass: every bound becomes \r, every other whitespace a space
        table = bytes.maketrans(
            "".join(bounds).encode() + _ASCII_WHITESPACE.encode(), b"\r" * len(bounds) + b" " * len(_ASCII_WHITESPACE)
        )
        squeezed = text.encode("ascii").translate(table)
        return b" \r" not in squeezed and b"\r " not in squeezed
    for ws in PY_WHITESPACE:
        if ws in "\r\n" or ws not in text:
            continue
        if any(ws + b in text or b + ws in text for b in bounds):
            return False
    return True


#: a SQL string literal (short, for the generated extraction statements)
lit = literal


def _rx(char: str) -> str:
    """One ASCII punctuation character as an RE2 literal."""
    return "\\" + char


@dataclass(frozen=True)
class Value:
    """One extracted value: segment, field, component, repetition, subcomponent (1-based)."""

    seg: str
    fld: int
    comp: int = 1
    rep: int = 1
    sub: int = 1


# message-level values (first occurrence of each segment), named as the SQL columns
MESSAGE_VALUES: dict[str, Value] = {
    "msh_3": Value("MSH", 3),
    "msh_4": Value("MSH", 4),
    "msh_7": Value("MSH", 7),
    "msh_9_1": Value("MSH", 9, 1),
    "msh_9_2": Value("MSH", 9, 2),
    "msh_10": Value("MSH", 10),
    "msh_12": Value("MSH", 12),
    "evn_1": Value("EVN", 1),
    "evn_2": Value("EVN", 2),
    "evn_6": Value("EVN", 6),
    **{f"pid_3_1_r{r}": Value("PID", 3, 1, r) for r in range(1, 6)},
    **{f"pid_3_5_r{r}": Value("PID", 3, 5, r) for r in range(1, 6)},
    "pid_5_1": Value("PID", 5, 1),
    "pid_5_2": Value("PID", 5, 2),
    "pid_7": Value("PID", 7),
    "pid_8": Value("PID", 8),
    "pid_11_1": Value("PID", 11, 1),
    "pid_11_3": Value("PID", 11, 3),
    "pid_11_4": Value("PID", 11, 4),
    "pid_11_5": Value("PID", 11, 5),
    "pid_13_1": Value("PID", 13, 1),
    "pid_13_6": Value("PID", 13, 6),
    "pid_13_7": Value("PID", 13, 7),
    "pid_13_12": Value("PID", 13, 12),
    "pid_19": Value("PID", 19),
    "pv1_2": Value("PV1", 2),
    "pv1_3_1": Value("PV1", 3, 1),
    "pv1_3_2": Value("PV1", 3, 2),
    "pv1_3_3": Value("PV1", 3, 3),
    "pv1_3_4": Value("PV1", 3, 4),
    "pv1_7_1": Value("PV1", 7, 1),
    "pv1_10": Value("PV1", 10),
    "pv1_14": Value("PV1", 14),
    "pv1_19": Value("PV1", 19),
    "pv1_36": Value("PV1", 36),
    "pv1_44": Value("PV1", 44),
    "pv1_45": Value("PV1", 45),
    "pv2_3_1": Value("PV2", 3, 1),
    "pv2_3_2": Value("PV2", 3, 2),
    "mrg_1_1": Value("MRG", 1, 1),
    "mrg_5_1": Value("MRG", 5, 1),
}
# child-segment values (every DG1 / PR1 / IN1), named without the segment prefix
CHILD_VALUES: dict[str, dict[str, Value]] = {
    "DG1": {
        "f1": Value("DG1", 1),
        "f2": Value("DG1", 2),
        "f3_1": Value("DG1", 3, 1),
        "f3_2": Value("DG1", 3, 2),
        "f3_3": Value("DG1", 3, 3),
        "f4": Value("DG1", 4),
        "f6": Value("DG1", 6),
    },
    "PR1": {
        "f1": Value("PR1", 1),
        "f2": Value("PR1", 2),
        "f3_1": Value("PR1", 3, 1),
        "f3_3": Value("PR1", 3, 3),
        "f5": Value("PR1", 5),
        "f11_1": Value("PR1", 11, 1),
        "f12_1": Value("PR1", 12, 1),
    },
    "IN1": {
        "f1": Value("IN1", 1),
        "f2_1": Value("IN1", 2, 1),
        "f3_1": Value("IN1", 3, 1),
        "f4_1": Value("IN1", 4, 1),
        "f8": Value("IN1", 8),
        "f36": Value("IN1", 36),
        "f49_1": Value("IN1", 49, 1),
    },
}


class AdtSql:
    """The statements for one file's delimiters, run in order: ``messages_from_text`` (or the
    caller fills ``_adt_msgs`` itself), ``messages``, ``children``, ``route``.

    ``plain`` (see ``is_plain``): the file has no escape character outside its MSH-2 and no
    whitespace next to a delimiter or line end, so no value needs decoding or stripping and
    each value is just ``nullif(raw, '')``. Otherwise every value goes through ``value`` (one
    lambda over the message's list of raw values, so the long expression is bound once).
    """

    def __init__(self, d: Delimiters, plain: bool = False) -> None:
        self.d = d
        self.plain = plain

    # ------------------------------------------------------------------ expressions

    def components(self, fields: str, values: list[Value]) -> tuple[str, list[str]]:
        """Select-list items splitting each (field, repetition) the values need into its list of
        components, once; and for each value the expression reading its subcomponent from them:
        python-hl7's Segment(fld)(rep)(comp)(sub) for a segment split at the field separator
        (``fields``, a list column; ``{seg}`` in it is replaced by the value's segment, lowercase).

        An index past the end of a list gives null where python-hl7 has no element; it lands
        as null, like an empty value. (``string_split(..)[n]`` rather than ``split_part``: three
        nested ``split_part`` cost DuckDB ~5 ms each to bind, 60 of them ~0.3 s per statement.)
        """
        d = self.d
        items: dict[str, str] = {}
        raws = []
        for v in values:
            pos = v.fld if v.seg == "MSH" else v.fld + 1  # MSH|^~\&|a -> ['MSH', '^~\&', 'a']: MSH-3 is 3rd
            name = f"c_{v.seg.lower()}_{v.fld}_{v.rep}"
            field = fields.format(seg=v.seg.lower())
            items[name] = (
                f"string_split(string_split({field}[{pos}], {lit(d.repetition)})[{v.rep}], "
                f"{lit(d.component)}) as {name}"
            )
            raws.append(f"string_split({name}[{v.comp}], {lit(d.subcomponent)})[{v.sub}]")
        return ", ".join(items.values()), raws

    def value(self, raw: str) -> str:
        """The landed value: decoded, stripped like str.strip(), empty -> null.

        Decoding (messages whose escapes ``segs_ok`` accepts): every escape token, left to right,
        becomes MARK + letter, then each MARK + letter its character (MARK never occurs in a
        file on this path). ``raw`` must be a plain column or lambda parameter: it is repeated.
        """
        d = self.d
        esc = _rx(d.escape)
        decoded = f"regexp_replace({raw}, {lit(esc + '([FSTRE])' + esc)}, {lit(MARK + chr(92) + '1')}, 'g')"
        for k, v in (("F", d.field), ("S", d.component), ("T", d.subcomponent), ("R", d.repetition), ("E", d.escape)):
            decoded = f"replace({decoded}, {lit(MARK + k)}, {lit(v)})"
        decoded = f"case when contains({raw}, {lit(d.escape)}) then {decoded} else {raw} end"
        # the decoded characters are ASCII punctuation, so only a raw value with whitespace at an
        # end needs the unicode trim; two codepoint look-ups find those (a regex costs more)
        return f"nullif(case when {_ws_edge(raw)} then trim({decoded}, {WS_SQL}) else {decoded} end, '')"

    def values(self, raws: list[str], names: list[str]) -> str:
        """Select-list items: each raw expression landed as its name (``value`` unless plain)."""
        if self.plain:
            return ", ".join(f"nullif({r}, '') as {n}" for r, n in zip(raws, names, strict=True))
        items = ", ".join(raws)
        picks = ", ".join(f"v[{i}] as {n}" for i, n in enumerate(names, start=1))
        return f"{picks} from (select *, list_transform([{items}], lambda r: {self.value('r')}) as v"

    # ------------------------------------------------------------------ statements

    def messages_from_text(self) -> str:
        """Rows of ``_adt_msgs(idx, l)``: the messages of ``_adt_text`` (segment ends already
        ``\\r``), each as its list of stripped, non-blank lines. A line that starts with MSH (after
        stripping) starts a message; lines before the first MSH form message 1 when there are any.

        Plain text has no whitespace next to a line end, so no line needs stripping and every
        message starts at a ``\\rMSH``: one split of the text at those, then each into lines."""
        if self.plain:
            return """
with chunks as (
    select unnest(c) as chunk, generate_subscripts(c, 1) as k,
        list_filter(string_split(c[1], chr(13)), lambda x: x <> '') = [] as skip_first
    from (select string_split(text, chr(13) || 'MSH') as c from _adt_text)
)
select (k - skip_first::int)::bigint as idx,
    list_filter(string_split(case when k = 1 then chunk else 'MSH' || chunk end, chr(13)), lambda x: x <> '') as l
from chunks where not (k = 1 and skip_first)
"""
        return f"""
with lines as (
    select unnest(ls) as line, generate_subscripts(ls, 1) as n
    from (select string_split(text, chr(13)) as ls from _adt_text)
), numbered as (
    select n, line, sum(starts_with(line, 'MSH')::int) over (order by n rows unbounded preceding) as g
    from (select n, case when {_ws_edge("line")} then trim(line, {WS_SQL}) else line end as line from lines)
    where line <> ''
)
select (g + (min(g) over () = 0)::int)::bigint as idx, list(line order by n) as l
from numbered group by g order by g
"""

    def messages(self) -> str:
        """Rows of ``_adt_m``: one row per message with its text, hash, extracted values and checks."""
        d = self.d
        # every line after the first: a segment id, then nothing or the field separator; escape
        # sequences only the five decoded here (the first line, an MSH, is checked after MSH-2)
        esc = _rx(d.escape)
        content = f"(?:[^{chr(92)}r{esc}]|{esc}[FSTRE]{esc})*"
        segs_re = f".{{8}}{content}(?:{chr(92)}r[A-Z][A-Z0-9]{{2}}(?:{_rx(d.field)}{content})?)*"
        firsts = ",\n        ".join(  # the first line of each segment type, split into fields
            f"string_split(list_filter(l, lambda x: starts_with(x, {lit(s)}))[1], {lit(d.field)}) as {s.lower()}_p"
            for s in MESSAGE_SEGMENTS
            if s != "MSH"
        )
        names = list(MESSAGE_VALUES)
        comps, raws = self.components("{seg}_p", list(MESSAGE_VALUES.values()))
        ts_cols = ["msh_7", "evn_6", "evn_2", "pv1_44", "pv1_45", "pid_7"]
        ts_out = ", ".join(f"ts[{i}].t as t_{c}, ts[{i}].z as z_{c}" for i, c in enumerate(ts_cols, start=1))
        close = "" if self.plain else ")"
        return f"""
with split as (
    select idx, raw_message, md5(raw_message) as record_hash,
        starts_with(l[1], 'MSH') as has_msh, starts_with(l[1], {lit(d.msh_prefix)}) as msh_ok,
        regexp_full_match(raw_message, {lit(segs_re)}) as segs_ok,
        string_split(case when starts_with(l[1], 'MSH') then l[1] end, {lit(d.field)}) as msh_p,
        {firsts}
    from (select idx, l, array_to_string(l, chr(13)) as raw_message from _adt_msgs)
), comps as (
    select *, {comps} from split
), vals as (
    select idx, raw_message, record_hash, has_msh, msh_ok, segs_ok,
        evn_p is not null as has_evn, pid_p is not null as has_pid,
        pv1_p is not null as has_pv1, mrg_p is not null as has_mrg,
        {self.values(raws, names)} from comps{close}
), stamps as (
    select *, coalesce(msh_9_2, evn_1) as trigger_event,
        list_transform([{", ".join(ts_cols)}],
                       lambda x: {_ts_struct(f"regexp_extract(x, {lit(TS_RE)}, {TS_NAMES})")}) as ts
    from vals
)
select * exclude (ts), {ts_out} from stamps
"""

    def children(self) -> str:
        """Rows of ``_adt_c``: one row per DG1 / PR1 / IN1 with its extracted values and checks."""
        d = self.d
        values = {name: v for sid_values in CHILD_VALUES.values() for name, v in sid_values.items()}
        comps, raws = self.components("p", [Value("DG1", v.fld, v.comp, v.rep, v.sub) for v in values.values()])
        close = "" if self.plain else ")"
        return f"""
with seg as (
    select idx, ord, sid, string_split(line, {lit(d.field)}) as p,
        row_number() over (partition by idx, sid order by ord) as n from (
        select idx, ord, left(line, 3) as sid, line from (
            select idx, unnest(l) as line, generate_subscripts(l, 1) as ord from _adt_msgs
        ) where left(line, 3) in ('DG1', 'PR1', 'IN1')
    )
), vals as (
    select idx, ord, sid, n, {self.values(raws, list(values))} from (select *, {comps} from seg){close}
), cols as (
    select idx, ord, sid, n, f1 as set_id_raw,
        case when sid in ('DG1', 'PR1') then f3_1 end as code,
        case when sid in ('DG1', 'PR1') then coalesce(f3_3, f2) end as coding_system,
        case when sid = 'DG1' then coalesce(f3_2, f4) end as description,
        case when sid = 'DG1' then f6 end as diagnosis_type,
        case when sid = 'PR1' then f5 end as at_raw,
        case when sid = 'PR1' then coalesce(f11_1, f12_1) end as npi,
        case when sid = 'IN1' then f2_1 end as plan_id,
        case when sid = 'IN1' then f3_1 end as company_id,
        case when sid = 'IN1' then f4_1 end as company_name,
        case when sid = 'IN1' then f8 end as group_number,
        case when sid = 'IN1' then coalesce(f36, f49_1) end as member_id
    from vals
), parts as (
    select *, {_ts_struct(f"regexp_extract(at_raw, {lit(TS_RE)}, {TS_NAMES})")} as at_p from cols
)
select * exclude (at_p),
    coalesce(regexp_full_match(set_id_raw, '[0-9]{{1,9}}'), false) as set_id_ok,
    try_cast(set_id_raw as integer) as set_id, at_p.t as at_ts, coalesce(at_p.z, false) as z_at
from parts
"""

    @staticmethod
    def route() -> str:
        """Rows of ``_adt_route(idx, to_python)``: ``to_python`` is false for the messages the SQL
        path lands, those on which the Python path would report nothing but a dropped offset."""
        known = ", ".join(lit(e) for e in KNOWN_EVENTS)
        return f"""
with ctrl as (
    select msh_10, count(*) as n from _adt_m where msh_10 is not null group by 1
), child as (
    select idx, bool_and(set_id_ok and repeats = 1 and (at_raw is null or at_ts is not null)) as ok
    from (select *, count(*) over (partition by idx, sid, set_id) as repeats from _adt_c) group by idx
)
select m.idx, not coalesce(
    m.has_msh and m.msh_ok and m.segs_ok
    and m.msh_9_1 = 'ADT' and m.trigger_event in ({known})
    and ctrl.n = 1
    and m.has_pid and m.has_evn and (m.has_pv1 or m.trigger_event = 'A40')
    and (m.trigger_event <> 'A40' or m.has_mrg) and (not m.has_pv1 or m.pv1_19 is not null)
    and (m.msh_7 is null or m.t_msh_7 is not null)
    and (m.evn_6 is null or m.t_evn_6 is not null)
    and (m.evn_6 is not null or m.evn_2 is null or m.t_evn_2 is not null)
    and (m.pv1_44 is null or m.t_pv1_44 is not null)
    and (m.pv1_45 is null or m.t_pv1_45 is not null)
    and (m.pid_7 is null or m.t_pid_7 is not null)
    and coalesce(child.ok, true), false) as to_python
from _adt_m m left join ctrl using (msh_10) left join child using (idx)
"""


def _ws_edge(x: str) -> str:
    """True when the string ``x`` (a column or lambda parameter) starts or ends with a character
    str.strip() removes (or is empty): no regex, two codepoint look-ups."""
    return f"({x} = '' or contains({WS_SQL}, left({x}, 1)) or contains({WS_SQL}, right({x}, 1)))"


def _ts_struct(parts: str) -> str:
    """``{t: timestamp, z: has offset}`` from a ``regexp_extract(.., TS_RE, TS_NAMES)`` expression,
    which is evaluated once (a lambda over a one-element list binds it to a name)."""
    return f"list_transform([{parts}], lambda p: {{'t': {_ts_expr('p')}, 'z': p.z <> ''}})[1]"


def _ts_expr(p: str) -> str:
    """An HL7 timestamp struct (from ``regexp_extract(.., TS_RE, names)``) -> timestamp, null when
    it does not match or is not a calendar date/time (as ``datetime()`` would refuse it)."""
    y, mo, d = f"{p}.y", f"coalesce(nullif({p}.mo, ''), '01')", f"coalesce(nullif({p}.d, ''), '01')"
    h, mi, s = (f"coalesce(nullif({p}.{k}, ''), '0')::int" for k in ("h", "mi", "s"))
    frac = f"rpad(coalesce(nullif({p}.f, ''), '0'), 6, '0')::bigint"
    return (
        f"case when {y} <> '' and try_cast({y} as int) >= 1 and {h} < 24 and {mi} < 60 and {s} < 60 "
        f"then try_cast({y} || '-' || {mo} || '-' || {d} as date)::timestamp "
        f"+ to_microseconds((({h} * 60 + {mi}) * 60 + {s}) * 1000000::bigint + {frac}) end"
    )
