"""The README and docs/ point only at files that are in the repository.

Every backticked repository path (``careledger/...``, ``dbt_project/...``, ``seeds/...``,
``tests/...``, ``docs/...``) and every relative Markdown link must exist, so a moved or
deleted file cannot leave a guide pointing at nothing, and no guide points outside the
repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from careledger.config import REPO_ROOT

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
ROOTS = ("careledger/", "dbt_project/", "seeds/", "tests/", "docs/")
#: build output a guide may name: it exists only after `dbt parse` / `dbt build`
GENERATED = ("dbt_project/target/", "dbt_project/logs/")
BACKTICKED = re.compile(r"`([^`\s]+)`")
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


def _repo_paths(text: str) -> list[str]:
    found = []
    for token in BACKTICKED.findall(text):
        token = token.rstrip(".,:;")
        if token.startswith(ROOTS) and not token.startswith(GENERATED) and not any(ch in token for ch in "<>{}$|"):
            found.append(token)
    return found


def _exists(relative: str) -> bool:
    if "*" in relative:
        return any(REPO_ROOT.glob(relative))
    return (REPO_ROOT / relative).exists()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_path_a_guide_names_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = [p for p in _repo_paths(text) if not _exists(p)]
    for target in LINK.findall(text):
        if "://" in target or target.startswith("mailto:"):
            continue
        resolved = (doc.parent / target).resolve()
        if not resolved.is_relative_to(REPO_ROOT.resolve()):
            missing.append(f"{target} (outside the repository)")
        elif not resolved.exists():
            missing.append(target)
    assert not missing, f"{doc.name} names files that are not in the repository: {missing}"


def test_no_guide_points_outside_the_repository() -> None:
    offenders = [d.name for d in DOCS if "../shared" in d.read_text(encoding="utf-8")]
    assert not offenders, f"these guides point outside the repository: {offenders}"
