"""Build hook: the wheel carries the dbt project, the seeds and profiles.yml.

pyproject.toml holds the whole project definition; this file only adds one step to
``build_py``. A checkout keeps ``dbt_project/``, ``seeds/`` and ``profiles.yml`` at the
repository root (where dbt, sqlfluff and analysts expect them); a wheel gets a copy under
``careledger/_project/`` with the same relative layout (``seed-paths: ["../seeds"]`` still
resolves), and ``careledger.config`` looks there when it is not running from a checkout.
An editable install (``make install``) copies nothing: it reads the checkout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = "_project"
# dbt's outputs and caches: written when dbt runs, never part of the project
IGNORED = shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml", "__pycache__", "*.pyc")


class BuildPyWithProject(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        dest = Path(self.build_lib) / "careledger" / BUNDLED
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        shutil.copytree(ROOT / "dbt_project", dest / "dbt_project", ignore=IGNORED)
        shutil.copytree(ROOT / "seeds", dest / "seeds", ignore=IGNORED)
        shutil.copy2(ROOT / "profiles.yml", dest / "profiles.yml")


setup(cmdclass={"build_py": BuildPyWithProject})
