"""careledger orchestration: the Dagster code location and the CLI that runs it."""

import warnings

# Dagster flags parameters we rely on (backfill policies, pools) as beta/preview; the terminal
# is not the place for that. Filtering by message keeps `careledger --help` free of a dagster import.
for _pattern in (r".*is currently in beta.*", r".*is currently in preview.*", r".*superseded.*"):
    warnings.filterwarnings("ignore", message=_pattern)
