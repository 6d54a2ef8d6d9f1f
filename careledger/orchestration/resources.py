"""Dagster resources: where careledger's home and landing folder are."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from careledger import config
from careledger.config import Home


class CareledgerResource(ConfigurableResource):
    """The CARELEDGER_HOME folder (warehouse, exports, serving snapshot) and the landing folder."""

    home: str = ""
    landing_dir: str = ""

    @property
    def home_paths(self) -> Home:
        return Home.from_env(self.home or None).ensure()

    @property
    def warehouse(self) -> Path:
        return self.home_paths.warehouse

    @property
    def landing(self) -> Path:
        chosen = Path(self.landing_dir) if self.landing_dir else config.landing_override()
        return chosen.resolve() if chosen else self.home_paths.landing
