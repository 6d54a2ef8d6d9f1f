"""A failed step is reported by what its code raised, not by Dagster's wrapper."""

from __future__ import annotations

from dagster import DagsterInstance, job, op

from careledger.orchestration.jobs import failure_detail


@op
def builds_nothing():
    try:
        raise KeyError("manifest node")
    except KeyError as exc:
        raise ValueError("dbt found a model the code location does not know: reload it") from exc


@op
def fine():
    return 1


@job
def half_failing():
    builds_nothing()
    fine()


def test_the_cause_is_named_once_per_failed_step() -> None:
    with DagsterInstance.ephemeral() as instance:
        result = half_failing.execute_in_process(raise_on_error=False, instance=instance)
    assert not result.success
    detail = failure_detail(result)
    assert detail.splitlines() == [
        "  builds_nothing: ValueError: dbt found a model the code location does not know: reload it"
    ]
    assert "Error occurred while executing op" not in detail
