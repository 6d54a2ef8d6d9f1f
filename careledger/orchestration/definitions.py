"""careledger's Dagster code location: one Definitions built from small modules.

Open the UI on it with ``make dev`` (``dagster dev -m careledger.orchestration.definitions``).
"""

from __future__ import annotations

import warnings

from dagster import BetaWarning, Definitions, PreviewWarning

warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)

from careledger.orchestration.assets.dbt import careledger_dbt_assets, dbt_resource
from careledger.orchestration.assets.fhir_fetch import fhir_bulk_export
from careledger.orchestration.assets.publish import publish_assets
from careledger.orchestration.assets.raw import raw_assets
from careledger.orchestration.automation import jobs, schedules, sensors
from careledger.orchestration.checks import checks
from careledger.orchestration.progress import progress_logger
from careledger.orchestration.resources import CareledgerResource

defs = Definitions(
    assets=[fhir_bulk_export, *raw_assets, careledger_dbt_assets, *publish_assets],
    asset_checks=checks,
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    resources={"careledger": CareledgerResource(), "dbt": dbt_resource()},
    loggers={"console": progress_logger},
)
