"""A non-editable install works: the wheel carries the dbt project, the seeds and profiles.yml,
and installs one top-level package, ``careledger``.

The wheel is built from a copy of the project's source files (so the build leaves no
``build/`` or ``*.egg-info`` in the checkout), without build isolation (no index needed).
The e2e test installs it into a fresh virtualenv that borrows the lock's packages from this
checkout's ``.venv`` and runs ``careledger --help`` and ``dbt parse`` from outside the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from careledger.config import REPO_ROOT, project_root

SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "profiles.yml")
SOURCE_DIRS = ("careledger", "dbt_project", "seeds")
BUILD_OUTPUTS = shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__", "*.pyc", "*.egg-info")


def _tracked(*paths: str) -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "ls-files", "--", *paths], capture_output=True, text=True, check=True
    )
    return [line for line in out.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in SOURCES:
        shutil.copy2(REPO_ROOT / name, src / name)
    for name in SOURCE_DIRS:
        shutil.copytree(REPO_ROOT / name, src / name, ignore=BUILD_OUTPUTS)
    dist = root / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(src), "-w", str(dist)],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (built,) = dist.glob("careledger-*.whl")
    return built


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return {n for n in zf.namelist() if not n.endswith("/")}


def test_wheel_installs_one_top_level_package(wheel):
    top = {n.split("/", 1)[0] for n in _names(wheel)}
    dist_info = {t for t in top if t.endswith(".dist-info")}
    assert len(dist_info) == 1, dist_info
    assert top - dist_info == {"careledger"}, f"installed beside careledger: {sorted(top - dist_info - {'careledger'})}"


def test_wheel_carries_every_module_and_package_file(wheel):
    names = _names(wheel)
    missing = sorted(f for f in _tracked("careledger") if f not in names)
    assert not missing, f"tracked package files not in the wheel: {missing}"


def test_wheel_carries_the_dbt_project_and_every_seed(wheel):
    names = _names(wheel)
    bundled = "careledger/_project/"
    project_files = _tracked("dbt_project", "seeds", "profiles.yml")
    assert f"{bundled}dbt_project/dbt_project.yml" in names
    assert any(f.startswith("seeds/") and f.endswith(".csv") for f in project_files)
    assert any(f.startswith("dbt_project/models/") and f.endswith(".sql") for f in project_files)
    missing = sorted(f for f in project_files if bundled + f not in names)
    assert not missing, f"dbt project / seed files not in the wheel: {missing}"
    outputs = sorted(n for n in names if n.startswith((f"{bundled}dbt_project/target/", f"{bundled}dbt_project/logs/")))
    assert not outputs, f"dbt outputs shipped in the wheel: {outputs[:5]}"


def test_config_finds_the_checkout_or_the_bundled_project(tmp_path):
    assert project_root() == REPO_ROOT
    installed = tmp_path / "site-packages" / "careledger"
    installed.mkdir(parents=True)
    assert project_root(installed) == installed / "_project"


@pytest.mark.e2e
def test_installed_wheel_runs_outside_the_repository(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    uv = Path(sys.executable).parent / "uv"
    installer = [str(uv), "pip", "install", "--python", str(python)] if uv.exists() else [str(python), "-m", "pip"]
    subprocess.run([*installer, "--quiet", "--no-deps", str(wheel)], check=True)
    # the lock's packages come from this checkout's virtualenv (appended after the new
    # venv's own site-packages, so the installed careledger wins over the editable one)
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "_lock_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "CARELEDGER_HOME": str(outside / "home"),
    }
    env.pop("PYTHONPATH", None)
    helped = subprocess.run([str(venv / "bin" / "careledger"), "--help"], cwd=outside, env=env, capture_output=True)
    assert helped.returncode == 0, helped.stderr.decode()[-2000:]
    assert b"careledger" in helped.stdout

    script = (
        "from pathlib import Path\n"
        "import careledger.config as c\n"
        "from careledger.orchestration.dbt_runner import run_dbt\n"
        "print(c.DBT_PROJECT_DIR)\n"
        "run_dbt(['parse'], Path('home'))\n"
        "print((c.DBT_PROJECT_DIR / 'target' / 'manifest.json').is_file())\n"
    )
    parsed = subprocess.run([str(python), "-c", script], cwd=outside, env=env, capture_output=True, text=True)
    assert parsed.returncode == 0, parsed.stdout[-2000:] + parsed.stderr[-2000:]
    project_dir, manifest_written = parsed.stdout.strip().splitlines()[-2:]
    assert Path(project_dir) == Path(purelib) / "careledger" / "_project" / "dbt_project"
    assert manifest_written == "True"
