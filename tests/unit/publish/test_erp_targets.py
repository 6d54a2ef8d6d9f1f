"""The ERP targets are listed once (careledger.publish.erp.targets); the CLI, the Dagster assets
and the publisher read that registry."""

from __future__ import annotations

import ast
from pathlib import Path

import careledger
from careledger.cli import build_parser
from careledger.publish.erp import publisher
from careledger.publish.erp.targets import DELIVERABLE, REGISTRY, TARGETS, make_adapter

PACKAGE = Path(careledger.__file__).resolve().parent


def test_every_target_makes_its_own_adapter():
    assert TARGETS == ("oracle", "d365", "netsuite", "sap", "json")
    for name in TARGETS:
        assert make_adapter(name).target == name
    assert publisher.make_adapter is make_adapter


def _choices(argv_prefix: list[str]) -> tuple[str, ...]:
    parser = build_parser()
    action = parser
    for word in argv_prefix:
        sub = next(a for a in action._actions if a.__class__.__name__ == "_SubParsersAction")
        action = sub.choices[word]
    target = next(a for a in action._actions if a.dest == "target")
    return tuple(target.choices)


def test_the_cli_and_the_assets_offer_the_registry():
    from careledger.orchestration.assets.publish import erp_assets

    assert _choices(["publish", "erp"]) == TARGETS
    assert _choices(["deliver", "erp"]) == DELIVERABLE == TARGETS  # every target has a delivery client
    for name in DELIVERABLE:
        assert REGISTRY[name].client_class().target == name
    names = sorted(key.path[-1] for a in erp_assets for key in a.keys)
    assert names == sorted(f"erp_journals_{t}" for t in TARGETS)
    for a in erp_assets:
        (key,) = a.keys
        target = key.path[-1].removeprefix("erp_journals_")
        assert set(a.specs_by_key[key].kinds) == {REGISTRY[target].file_kind}


def test_no_second_hand_written_list_of_targets():
    """A tuple, list or set literal naming two or more targets anywhere in careledger is a copy."""
    copies = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                names = {e.value for e in node.elts if isinstance(e, ast.Constant) and e.value in TARGETS}
                if len(names) >= 2:
                    copies.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {sorted(names)}")
    assert not copies, "ERP targets listed outside careledger/publish/erp/targets.py:\n" + "\n".join(copies)
