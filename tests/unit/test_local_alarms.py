"""Alarm evaluation on the embedded AWS: the statistic against the threshold, missing data as configured."""

from __future__ import annotations

import pytest

from sagelane.local.alarms import next_state

ALARM = {
    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    "Threshold": 0.25,
    "EvaluationPeriods": 3,
    "DatapointsToAlarm": 2,
    "StateValue": "OK",
}


@pytest.mark.parametrize(
    ("values", "treat", "state"),
    [
        ([0.1, 0.3, 0.4], "notBreaching", "ALARM"),  # 2 of 3 breach
        ([0.1, 0.3, 0.1], "notBreaching", "OK"),  # 1 of 3: not enough
        ([0.25, 0.25], "missing", "ALARM"),  # >= threshold breaches
        ([], "notBreaching", "OK"),
        ([], "breaching", "ALARM"),
        ([], "missing", "INSUFFICIENT_DATA"),
        ([], "ignore", "OK"),  # keeps its state
    ],
)
def test_states(values, treat, state):
    assert next_state({**ALARM, "TreatMissingData": treat}, values)[0] == state


def test_lower_is_worse_operators_and_the_reason():
    quality = {**ALARM, "ComparisonOperator": "LessThanThreshold", "Threshold": 0.8, "DatapointsToAlarm": 1}
    state, reason = next_state(quality, [0.9, 0.7])
    assert state == "ALARM" and "1 of 2 datapoints" in reason and "0.8" in reason
