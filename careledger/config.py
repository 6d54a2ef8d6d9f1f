"""Where careledger reads and writes, and every environment variable it reads.

Everything careledger writes goes under one folder, ``CARELEDGER_HOME`` (``Home``). Each
environment variable is listed once in ``SETTINGS`` with its default and a one-line
description (the README's "Configuration" table is checked against it) and is read when it
is asked for, never when a module is imported, so a test or a command that sets it first is
always seen. Nothing else in careledger reads a ``CARELEDGER_`` variable.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import time
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


def project_root(package_dir: Path = PACKAGE_DIR) -> Path:
    """The folder holding ``dbt_project/``, ``seeds/`` and ``profiles.yml``: the repository in a
    checkout (and an editable install), ``careledger/_project`` in an installed wheel (setup.py
    copies them there with the same relative layout)."""
    checkout = package_dir.parent
    if (checkout / "dbt_project" / "dbt_project.yml").is_file():
        return checkout
    return package_dir / "_project"


PROJECT_ROOT = project_root()
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DBT_PROFILES_DIR = PROJECT_ROOT
SEEDS_DIR = PROJECT_ROOT / "seeds"
DEFAULT_HOME = Path(".careledger")


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, its default (None: unset means off or absent) and
    who reads it (``careledger`` for this package, ``dbt`` for profiles.yml / dbt_project.yml)."""

    name: str
    default: str | None
    description: str
    read_by: str = "careledger"


SETTINGS: tuple[Setting, ...] = (
    Setting("CARELEDGER_HOME", ".careledger", "folder for the warehouse, landing copies, exports, snapshots and logs"),
    Setting("CARELEDGER_LANDING", None, "landing folder the raw assets read (default: $CARELEDGER_HOME/landing)"),
    Setting(
        "CARELEDGER_PARTITION_START",
        None,
        "first day of the daily and monthly Dagster partitions (unset: the earliest posting date in the warehouse)",
    ),
    Setting(
        "CARELEDGER_QUARANTINE_WARN_SHARE",
        "0.01",
        "share of a raw family's records quarantined above which a check warns",
    ),
    Setting("CARELEDGER_POSTING_DEADLINE", "07:00", "HH:MM UTC by which the previous day's ERP posting must be done"),
    Setting("CARELEDGER_NOTIFIER", None, "package.module:Class of an alert notifier (default: ops table and log)"),
    Setting("CARELEDGER_VERBOSE", None, "set (by `careledger -v`) to print every Dagster step message"),
    Setting("CARELEDGER_LOCK_HELD", None, "set by careledger while this process holds the warehouse write lock"),
    Setting(
        "CARELEDGER_PARENT_PID",
        None,
        "set by careledger for the dbt it starts: the process whose death ends that dbt (careledger-dbt)",
    ),
    Setting(
        "CARELEDGER_KILL_AT",
        None,
        "kill tests only: stage:point (e.g. publish:after_file) at which the process SIGKILLs itself",
    ),
    Setting(
        "CARELEDGER_REALWORLD",
        "/work/shared/realworld",
        "tests only: folder of public real-world sample files (x12/, hl7/, fhir/) tests/e2e/test_realworld.py also runs",
    ),
    Setting("CARELEDGER_WEBHOOK_SECRET", None, "HMAC key that signs the generic JSON webhook delivery"),
    Setting(
        "CARELEDGER_WEBHOOK_SECRET_FILE", None, "file holding CARELEDGER_WEBHOOK_SECRET (trailing newline dropped)"
    ),
    *(
        setting_spec
        for name, what in (
            ("SAP_USER", "SAP communication user (SAP_COM_0002) for journal entry delivery"),
            ("SAP_PASSWORD", "password of the SAP communication user for journal entry delivery"),
            ("NETSUITE_CLIENT_ID", "client id of the NetSuite integration record (OAuth 2.0 M2M)"),
            ("NETSUITE_CERTIFICATE_ID", "certificate id of the NetSuite OAuth 2.0 client credentials mapping"),
            (
                "NETSUITE_PRIVATE_KEY",
                "PEM private key (RSA: PS256, EC: ES256) that signs the NetSuite client assertion",
            ),
            ("ORACLE_USER", "Oracle Fusion integration user for the ERP Integration REST service"),
            ("ORACLE_PASSWORD", "password of the Oracle Fusion integration user"),
            ("D365_TENANT_ID", "Microsoft Entra tenant of the Dynamics 365 Finance environment"),
            ("D365_CLIENT_ID", "Entra application (client) id registered in D365 for data management"),
            ("D365_CLIENT_SECRET", "client secret of that Entra application"),
            ("FHIR_CLIENT_ID", "client id registered for careledger at the FHIR server (SMART Backend Services)"),
            ("FHIR_KEY_ID", "kid of the public key registered with that client (the JWKS entry)"),
            ("FHIR_PRIVATE_KEY", "PEM private key (RSA: RS384, EC P-384: ES384) that signs the SMART client assertion"),
        )
        for setting_spec in (
            Setting(f"CARELEDGER_{name}", None, what),
            Setting(f"CARELEDGER_{name}_FILE", None, f"file holding CARELEDGER_{name} (trailing newline dropped)"),
        )
    ),
    Setting(
        "CARELEDGER_D365_AUTHORITY",
        "https://login.microsoftonline.com",
        "Entra authority whose /<tenant>/oauth2/v2.0/token issues the D365 token",
    ),
    Setting(
        "CARELEDGER_FHIR_TOKEN_URL",
        None,
        "SMART token endpoint of `fetch fhir` (unset: token_endpoint of <base>/.well-known/smart-configuration)",
    ),
    Setting("CARELEDGER_FHIR_SCOPE", "system/*.read", "scope `fetch fhir` asks the SMART token endpoint for"),
    Setting(
        "CARELEDGER_FHIR_BASE",
        None,
        "FHIR server base URL the Dagster fhir_bulk_export asset and its nightly schedule export from",
    ),
    Setting("CARELEDGER_FHIR_GROUP", None, "Group id the scheduled export asks for (unset: system-level $export)"),
    Setting("CARELEDGER_FHIR_TYPES", None, "comma-separated resource types the scheduled export asks for (unset: all)"),
    Setting("CARELEDGER_DBT_TARGET", "duckdb", "dbt target in profiles.yml: duckdb, spark or postgres", "dbt"),
    Setting(
        "CARELEDGER_PATIENT_KEY_SALT",
        "careledger-demo-salt",
        "salt of the keyed patient_key hash; set your own in production",
        "dbt",
    ),
    Setting("CARELEDGER_PG_HOST", "127.0.0.1", "Postgres host of the postgres dbt target", "dbt"),
    Setting("CARELEDGER_PG_PORT", "5432", "Postgres port of the postgres dbt target", "dbt"),
    Setting("CARELEDGER_PG_USER", "careledger", "Postgres user of the postgres dbt target", "dbt"),
    Setting("CARELEDGER_PG_PASSWORD", "", "Postgres password of the postgres dbt target", "dbt"),
    Setting("CARELEDGER_PG_DATABASE", "careledger", "Postgres database of the postgres dbt target", "dbt"),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def setting(name: str) -> str | None:
    """The value of a variable in ``SETTINGS`` now: the environment's, else its default."""
    try:
        spec = _BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name} is not a careledger setting; add it to careledger.config.SETTINGS") from None
    value = os.environ.get(name)
    return value if value not in (None, "") else spec.default


#: the variable kill tests set to ``stage:point`` (``kill_if_asked``)
KILL_AT_VARIABLE = "CARELEDGER_KILL_AT"


def kill_point() -> str | None:
    """``CARELEDGER_KILL_AT``: where a kill test wants this process to SIGKILL itself, if anywhere."""
    return setting(KILL_AT_VARIABLE)


def fhir_export_settings() -> tuple[str | None, str | None, str | None]:
    """The scheduled FHIR Bulk Data export: CARELEDGER_FHIR_BASE, _GROUP and _TYPES (each None if unset)."""
    return setting("CARELEDGER_FHIR_BASE"), setting("CARELEDGER_FHIR_GROUP"), setting("CARELEDGER_FHIR_TYPES")


def kill_if_asked(stage: str, point: str) -> None:
    """SIGKILL this process now if ``CARELEDGER_KILL_AT`` is ``stage:point``: the one kill-point
    mechanism of the kill campaign (docs/reliability.md). A SIGKILL runs no ``finally``, no
    ``atexit`` and no flush, exactly as a power cut or the OOM killer would."""
    if kill_point() == f"{stage}:{point}":
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def home_root() -> Path:
    return Path(setting("CARELEDGER_HOME") or DEFAULT_HOME)


def landing_override() -> Path | None:
    """The landing folder named by ``CARELEDGER_LANDING``, if any."""
    value = setting("CARELEDGER_LANDING")
    return Path(value) if value else None


def partition_start() -> str | None:
    """``CARELEDGER_PARTITION_START`` if set; None means: from the data
    (``careledger.orchestration.partitions.partition_start``)."""
    return setting("CARELEDGER_PARTITION_START")


def quarantine_warn_share() -> float:
    return float(setting("CARELEDGER_QUARANTINE_WARN_SHARE") or "0.01")


def posting_deadline() -> time:
    """When the daily posting must be done (HH:MM UTC)."""
    hh, mm = (setting("CARELEDGER_POSTING_DEADLINE") or "07:00").split(":")
    return time(int(hh), int(mm))


def notifier_spec() -> str | None:
    return setting("CARELEDGER_NOTIFIER")


def verbose() -> bool:
    return bool(setting("CARELEDGER_VERBOSE"))


def set_verbose() -> None:
    os.environ["CARELEDGER_VERBOSE"] = "1"


def set_home(root: Path) -> None:
    """Make ``root`` this process's CARELEDGER_HOME (``careledger --home``)."""
    os.environ["CARELEDGER_HOME"] = str(root)


def set_landing(landing: Path) -> None:
    """Point the raw assets of this process (and the Dagster runs it starts) at ``landing``."""
    os.environ["CARELEDGER_LANDING"] = str(landing)


def lock_held() -> str | None:
    """The lock file this process holds (set by ``warehouse_writer``), if any."""
    return setting("CARELEDGER_LOCK_HELD")


@contextmanager
def holding_lock(lock_path: Path) -> Iterator[None]:
    """Mark ``lock_path`` as held by this process for the block (so nested writers pass through)."""
    os.environ["CARELEDGER_LOCK_HELD"] = str(lock_path)
    try:
        yield
    finally:
        if os.environ.get("CARELEDGER_LOCK_HELD") == str(lock_path):
            del os.environ["CARELEDGER_LOCK_HELD"]


def parent_pid() -> int | None:
    """``CARELEDGER_PARENT_PID``: the careledger process a dbt child must not outlive."""
    value = setting("CARELEDGER_PARENT_PID")
    return int(value) if value and value.isdigit() else None


def dbt_executable() -> str:
    """The dbt careledger runs: ``careledger-dbt`` beside this Python (dbt's command line in a
    process that dies with its parent, ``careledger.orchestration.child_processes``), so nothing
    depends on the shell's PATH and no dbt outlives the careledger process that started it."""
    bindir = Path(sys.executable).parent
    for name in ("careledger-dbt", "dbt"):
        if (bindir / name).exists():
            return str(bindir / name)
    return "dbt"


@dataclass(frozen=True)
class Home:
    """The one folder that holds the warehouse, landing copies, exports, snapshots and logs."""

    root: Path

    @classmethod
    def from_env(cls, override: Path | str | None = None) -> Home:
        raw = override or home_root()
        return cls(Path(raw).expanduser().resolve())

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def erp_exports(self) -> Path:
        return self.exports / "erp"

    @property
    def extracts(self) -> Path:
        return self.exports / "extracts"

    @property
    def serving(self) -> Path:
        return self.root / "serving"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def build_status(self) -> Path:
        """What the last dbt build held back (careledger.publish.build_status)."""
        return self.root / "dbt_build_status.json"

    def ensure(self) -> Home:
        for p in (self.root, self.landing, self.exports, self.serving, self.logs, self.dagster_home):
            p.mkdir(parents=True, exist_ok=True)
        return self

    def child_env(self, landing: Path | None = None) -> dict[str, str]:
        """The environment for a child process (dbt, the Dagster UI) that works on this home."""
        env = {
            **os.environ,
            "CARELEDGER_HOME": str(self.root),
            "DAGSTER_HOME": str(self.dagster_home),
            "CARELEDGER_PARENT_PID": str(os.getpid()),
        }
        if landing is not None:
            env["CARELEDGER_LANDING"] = str(landing)
        return env

    def export_env(self) -> None:
        """Make dbt (profiles.yml) and Dagster see this home."""
        os.environ["CARELEDGER_HOME"] = str(self.root)
        os.environ.setdefault("DAGSTER_HOME", str(self.dagster_home))
        # the dbt this process starts (dagster-dbt copies os.environ) dies with this process
        os.environ["CARELEDGER_PARENT_PID"] = str(os.getpid())
        # no internet here or in many hospital networks: dbt must not wait on telemetry calls
        os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


def secret(name: str) -> str | None:
    """A credential from ``CARELEDGER_<NAME>``, or from the file named by ``CARELEDGER_<NAME>_FILE``
    (trailing newline dropped). Never logged; None when neither is set."""
    key = f"CARELEDGER_{name.upper()}"
    value = setting(key)
    if value:
        return value
    path = setting(f"{key}_FILE")
    if path:
        try:
            return Path(path).expanduser().read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise SecretUnreadable(
                f"{key}_FILE names {path}, which cannot be read ({reason}): point it at the file "
                f"that holds the credential, or set {key} instead"
            ) from None
    return None


class SecretUnreadable(RuntimeError):
    """A ``CARELEDGER_<NAME>_FILE`` that names a file that is missing or unreadable."""


def secret_variable(name: str) -> str:
    """The environment variable :func:`secret` reads for ``name``, for messages that say what to set."""
    return f"CARELEDGER_{name.upper()}"


def d365_authority() -> str:
    """The Microsoft Entra authority that issues the Dynamics 365 token."""
    return str(setting("CARELEDGER_D365_AUTHORITY"))  # SETTINGS gives the default


#: the variable naming the SMART token endpoint when the FHIR server does not publish it
FHIR_TOKEN_URL_VARIABLE = "CARELEDGER_FHIR_TOKEN_URL"


def fhir_token_url() -> str | None:
    """The SMART Backend Services token endpoint, when it is not discovered from the server."""
    return setting(FHIR_TOKEN_URL_VARIABLE)


def fhir_scope() -> str:
    """The scope the FHIR Bulk Data client asks for."""
    return str(setting("CARELEDGER_FHIR_SCOPE"))  # SETTINGS gives the default


def markdown_table() -> str:
    """The README's "Configuration" table, from ``SETTINGS``."""
    rows = ["| variable | default | read by | what it does |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "(unset)"
        rows.append(f"| `{s.name}` | {default} | {s.read_by} | {s.description} |")
    return "\n".join(rows)
