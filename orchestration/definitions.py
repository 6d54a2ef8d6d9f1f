"""careledger's Dagster code location: one Definitions built from small modules.

Open the UI on it with ``make dev`` (``dagster dev -m orchestration.definitions``).
"""

from __future__ import annotations

import warnings

from dagster import BetaWarning, Definitions, PreviewWarning

warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)

from orchestration.assets.dbt import careledger_dbt_assets, dbt_resource
from orchestration.assets.publish import publish_assets
from orchestration.assets.raw import raw_assets
from orchestration.automation import jobs, schedules, sensors
from orchestration.checks import checks
from orchestration.progress import progress_logger
from orchestration.resources import CareledgerResource

defs = Definitions(
    assets=[*raw_assets, careledger_dbt_assets, *publish_assets],
    asset_checks=checks,
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    resources={"careledger": CareledgerResource(), "dbt": dbt_resource()},
    loggers={"console": progress_logger},
)
