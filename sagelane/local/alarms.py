"""CloudWatch alarms on the embedded AWS: evaluated from the metric data, state changes as events.

moto stores alarms and metric data but never evaluates one against the other, and ``SetAlarmState``
emits nothing. Here every metric alarm is evaluated as CloudWatch does — the alarm's statistic over
``EvaluationPeriods`` periods of ``Period`` seconds ending now, ``DatapointsToAlarm`` of them breaching
the threshold, ``TreatMissingData`` when there is none — and a change of state is stored in moto and put
on the default event bus as the "CloudWatch Alarm State Change" event CloudWatch emits, where the
rules (e.g. alarm → retraining) match it. Differences: the window slides with the clock instead of
being aligned to period boundaries, and percentile statistics are evaluated only if moto returns them.
"""

from __future__ import annotations

import json
import logging
import operator
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

log = logging.getLogger("sagelane.local")

DETAIL_TYPE = "CloudWatch Alarm State Change"
_COMPARE = {
    "GreaterThanOrEqualToThreshold": operator.ge,
    "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}


def next_state(alarm: dict[str, Any], values: list[float]) -> tuple[str, str]:
    """(state, reason) of ``alarm`` given the statistic's values in its evaluation window."""
    compare = _COMPARE.get(alarm["ComparisonOperator"])
    if compare is None:  # anomaly-detection operators: not evaluated locally
        return alarm.get("StateValue", "INSUFFICIENT_DATA"), "not evaluated locally"
    threshold = alarm["Threshold"]
    needed = alarm.get("DatapointsToAlarm") or alarm["EvaluationPeriods"]
    if not values:
        treat = alarm.get("TreatMissingData", "missing")
        if treat == "breaching":
            return "ALARM", "no data points (treated as breaching)"
        if treat == "notBreaching":
            return "OK", "no data points (treated as not breaching)"
        if treat == "ignore":
            return alarm.get("StateValue", "INSUFFICIENT_DATA"), "no data points (ignored)"
        return "INSUFFICIENT_DATA", "no data points"
    breaching = [v for v in values if compare(v, threshold)]
    shown = ", ".join(f"{v:.4g}" for v in values)
    if len(breaching) >= needed:
        return (
            "ALARM",
            f"Threshold Crossed: {len(breaching)} of {len(values)} datapoints [{shown}] crossed {threshold:g}",
        )
    return "OK", f"{len(breaching)} of {len(values)} datapoints [{shown}] crossed {threshold:g} ({needed} needed)"


class LocalAlarms:
    def __init__(self, *, account: str, region: str, client: Any, actions: Any = None) -> None:
        self.account = account
        self.region = region
        self.client = client  # a function: service name → boto3 client
        # the SNS client alarm actions publish with: CloudWatch's own (cloudwatch.amazonaws.com) where IAM is
        # enforced, so an encrypted topic needs the key policy to admit it, as on AWS
        self.actions = actions or (lambda: client("sns"))
        self.changes: list[dict[str, Any]] = []
        self.failed_actions: list[dict[str, str]] = []  # what AWS records as "Failed to execute action"

    def evaluate(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Evaluate every metric alarm; returns the state changes it made (and emitted)."""
        now = now or datetime.now(UTC)
        cloudwatch = self.client("cloudwatch")
        changed = []
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"]):
            for alarm in page.get("MetricAlarms", []):
                if not alarm.get("MetricName"):
                    continue  # metric-math alarms are not evaluated locally
                state, reason = next_state(alarm, self._values(cloudwatch, alarm, now))
                previous = alarm.get("StateValue", "INSUFFICIENT_DATA")
                if state == previous:
                    continue
                cloudwatch.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue=state, StateReason=reason[:1023])
                change = self._emit(alarm, previous, state, reason, now)
                self._notify(alarm, previous, state, reason, now)
                changed.append(change)
                log.info("alarm %s: %s → %s (%s)", alarm["AlarmName"], previous, state, reason)
        self.changes += changed
        return changed

    def _values(self, cloudwatch: Any, alarm: dict[str, Any], now: datetime) -> list[float]:
        period = alarm["Period"]
        statistic = alarm.get("Statistic")
        kwargs: dict[str, Any] = {
            "Namespace": alarm["Namespace"],
            "MetricName": alarm["MetricName"],
            "Dimensions": alarm.get("Dimensions", []),
            "StartTime": now - timedelta(seconds=period * alarm["EvaluationPeriods"]),
            "EndTime": now + timedelta(seconds=1),
            "Period": period,
        }
        if statistic:
            kwargs["Statistics"] = [statistic]
        else:
            kwargs["ExtendedStatistics"] = [alarm["ExtendedStatistic"]]
        points = cloudwatch.get_metric_statistics(**kwargs).get("Datapoints", [])
        key = statistic or alarm["ExtendedStatistic"]
        values = []
        for point in sorted(points, key=lambda p: p["Timestamp"]):
            value = point.get(key, point.get("ExtendedStatistics", {}).get(key))
            if value is not None:
                values.append(float(value))
        return values

    def _notify(self, alarm: dict[str, Any], previous: str, state: str, reason: str, now: datetime) -> None:
        """The alarm's actions for ``state``: SNS topics get CloudWatch's notification message."""
        actions = {"ALARM": "AlarmActions", "OK": "OKActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}
        if not alarm.get("ActionsEnabled", True):
            return
        message = json.dumps(
            {
                "AlarmName": alarm["AlarmName"],
                "AlarmDescription": alarm.get("AlarmDescription"),
                "NewStateValue": state,
                "NewStateReason": reason,
                "OldStateValue": previous,
                "StateChangeTime": now.isoformat(),
                "Region": self.region,
            }
        )
        for arn in alarm.get(actions[state], []):
            if ":sns:" in arn:
                subject = f'{state}: "{alarm["AlarmName"]}" in {self.region}'[:100]
                try:
                    self.actions().publish(TopicArn=arn, Subject=subject, Message=message)
                except ClientError as error:
                    failure = {"alarm": alarm["AlarmName"], "action": arn, "error": str(error)}
                    self.failed_actions.append(failure)
                    log.warning("alarm %s: failed to execute action %s: %s", alarm["AlarmName"], arn, error)

    def _emit(self, alarm: dict[str, Any], previous: str, state: str, reason: str, now: datetime) -> dict[str, Any]:
        from moto.events.models import events_backends

        at = now.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        detail = {
            "alarmName": alarm["AlarmName"],
            "state": {"value": state, "reason": reason, "timestamp": at},
            "previousState": {"value": previous, "reason": alarm.get("StateReason", ""), "timestamp": at},
            "configuration": {
                "description": alarm.get("AlarmDescription", ""),
                "metrics": [
                    {
                        "metricStat": {
                            "metric": {
                                "namespace": alarm["Namespace"],
                                "name": alarm["MetricName"],
                                "dimensions": {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])},
                            },
                            "period": alarm["Period"],
                            "stat": alarm.get("Statistic") or alarm.get("ExtendedStatistic"),
                        }
                    }
                ],
            },
        }
        entry = {
            "Source": "aws.cloudwatch",
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(detail),
            "Resources": [alarm["AlarmArn"]],
            "EventBusName": "default",
        }
        events_backends[self.account][self.region].put_events([entry])
        return {"alarm": alarm["AlarmName"], "from": previous, "to": state, "reason": reason}
