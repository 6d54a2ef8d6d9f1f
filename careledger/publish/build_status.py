"""What the last dbt build held back: failing invariant tests and the models they blocked.

careledger's policy (docs/data_contracts.md, "Data conditions never stop the pipeline"): tests
of source data quality are warnings, tests of invariants are errors. A failing error test does
not stop the refresh: dbt's ``build`` already skips every node downstream of it, and the
publish steps leave the blocked marts out instead of publishing nothing. This module reads
dbt's ``run_results.json`` and ``manifest.json`` once, after the build, into a small JSON
file in the home folder (``Home.build_status``) that the serving snapshot and ``careledger
refresh`` read: which tests failed, on which models, and which models were not rebuilt.

Plain Python: no Dagster, no dbt import (the artifacts are JSON).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: dbt result statuses of a test that broke an invariant (``error``: the test itself failed to run)
_FAILED_TEST = {"fail", "error"}
#: dbt result statuses of a model, seed or snapshot that the build did not (re)build
_NOT_BUILT = {"error", "skipped"}


@dataclass(frozen=True)
class FailedTest:
    """One error-severity dbt test that failed (or could not run)."""

    name: str
    models: tuple[str, ...]  # the models it tests
    failures: int  # failing rows (0 when the test errored)
    message: str


@dataclass(frozen=True)
class BuildStatus:
    """The outcome of one ``dbt build`` that careledger let run to its end."""

    failed_tests: tuple[FailedTest, ...] = ()
    blocked_models: tuple[str, ...] = ()  # not rebuilt: errored, or skipped behind a failure
    warned_tests: int = 0
    failed_models: tuple[str, ...] = field(default_factory=tuple)  # models whose own SQL errored

    @property
    def is_clean(self) -> bool:
        return not self.failed_tests and not self.blocked_models

    def held_back(self, names: tuple[str, ...] | list[str]) -> dict[str, str]:
        """Of ``names`` (e.g. the public marts), those this build must not publish, each with the
        reason: the model was not rebuilt, or an invariant test on it failed."""
        on_model: dict[str, list[str]] = {}
        for test in self.failed_tests:
            for model in test.models:
                on_model.setdefault(model, []).append(test.name)
        out: dict[str, str] = {}
        for name in names:
            if name in on_model:
                out[name] = f"invariant test(s) failed: {', '.join(sorted(on_model[name]))}"
            elif name in self.failed_models:
                out[name] = "its dbt model failed to build"
            elif name in self.blocked_models:
                out[name] = "not rebuilt: an upstream invariant test or model failed"
        return out

    def summary(self) -> str:
        """One sentence per failing test, for the log and the command line."""
        lines = []
        for test in self.failed_tests:
            rows = f"{test.failures} failing row(s)" if test.failures else test.message
            lines.append(f"invariant test {test.name} on {', '.join(test.models) or '?'}: {rows}")
        for model in self.failed_models:
            lines.append(f"model {model} failed to build")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def read(cls, path: Path) -> BuildStatus:
        """The status of the last build, or a clean one when no build wrote a status yet."""
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            failed_tests=tuple(
                FailedTest(t["name"], tuple(t["models"]), int(t["failures"]), t["message"])
                for t in data.get("failed_tests", [])
            ),
            blocked_models=tuple(data.get("blocked_models", [])),
            warned_tests=int(data.get("warned_tests", 0)),
            failed_models=tuple(data.get("failed_models", [])),
        )


def _node_name(manifest: dict[str, Any], unique_id: str) -> str:
    node = manifest.get("nodes", {}).get(unique_id) or manifest.get("sources", {}).get(unique_id) or {}
    return str(node.get("name") or unique_id.rsplit(".", 1)[-1])


def from_artifacts(run_results: dict[str, Any], manifest: dict[str, Any]) -> BuildStatus:
    """Summarize a ``dbt build``'s run_results.json with the manifest it ran."""
    failed: list[FailedTest] = []
    blocked: set[str] = set()
    failed_models: set[str] = set()
    warned = 0
    parents = manifest.get("parent_map", {})
    nodes = manifest.get("nodes", {})
    for result in run_results.get("results", []):
        uid = str(result.get("unique_id", ""))
        status = str(result.get("status", ""))
        rtype = uid.split(".", 1)[0]
        if rtype in ("test", "unit_test"):
            if status == "warn":
                warned += 1
            elif status in _FAILED_TEST:
                tested = [p for p in parents.get(uid, []) if p.split(".", 1)[0] in ("model", "seed", "snapshot")]
                attached = (nodes.get(uid) or {}).get("attached_node")
                models = [attached] if attached else tested
                failed.append(
                    FailedTest(
                        name=_node_name(manifest, uid),
                        models=tuple(sorted(_node_name(manifest, m) for m in models)),
                        failures=int(result.get("failures") or 0),
                        message=str(result.get("message") or status)[:500],
                    )
                )
        elif rtype in ("model", "seed", "snapshot") and status in _NOT_BUILT:
            blocked.add(_node_name(manifest, uid))
            if status == "error":
                failed_models.add(_node_name(manifest, uid))
    return BuildStatus(
        failed_tests=tuple(sorted(failed, key=lambda t: t.name)),
        blocked_models=tuple(sorted(blocked)),
        warned_tests=warned,
        failed_models=tuple(sorted(failed_models)),
    )
