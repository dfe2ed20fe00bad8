"""MonitoringStack: the check schedule, the drift and quality alarms and their thresholds, alarm → retraining."""

from __future__ import annotations

import json


def test_each_model_is_checked_on_its_schedule(dev):
    rules = dev.resources("Monitoring", "AWS::Events::Rule")
    schedules = {
        r["Properties"]["ScheduleExpression"]: r for r in rules.values() if "ScheduleExpression" in r["Properties"]
    }
    assert (
        set(schedules) == {"rate(1 hour)"}
        and len([r for r in rules.values() if "ScheduleExpression" in r["Properties"]]) == 2
    )
    inputs = sorted(
        json.loads(r["Properties"]["Targets"][0]["Input"])["model"]
        for r in rules.values()
        if "ScheduleExpression" in r["Properties"]
    )
    assert inputs == ["churn-xgboost", "penguins-species"]


def test_drift_alarm_thresholds_come_from_the_config(dev):
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in dev.resources("Monitoring", "AWS::CloudWatch::Alarm").values()
    }
    alarm = alarms["sagelane-dev-churn-xgboost-drift"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("SageLane/dev", "MaxPSI", "Maximum")
    assert alarm["Threshold"] == 0.25 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["Period"] == 3600 and alarm["TreatMissingData"] == "notBreaching"
    assert alarm["Dimensions"] == [{"Name": "Model", "Value": "churn-xgboost"}]
    assert alarm["AlarmActions"] and alarm["OKActions"]


def test_an_alarm_starts_retraining_of_its_model_naming_the_alarm(dev):
    rules = [r for r in dev.resources("Monitoring", "AWS::Events::Rule").values() if "EventPattern" in r["Properties"]]
    assert len(rules) == 2
    for rule in rules:
        pattern = rule["Properties"]["EventPattern"]
        assert pattern["source"] == ["aws.cloudwatch"] and pattern["detail-type"] == ["CloudWatch Alarm State Change"]
        assert pattern["detail"]["state"] == {"value": ["ALARM"]}  # not OK, not INSUFFICIENT_DATA
        name = pattern["detail"]["alarmName"][0]
        (target,) = rule["Properties"]["Targets"]
        assert "TrainWorkflow" in json.dumps(target["Arn"])
        template = target["InputTransformer"]["InputTemplate"]
        assert '"trigger":"alarm"' in template and '"alarm":<detail-alarmName>' in template
        assert name.removeprefix("sagelane-dev-").removesuffix("-drift") in template


def test_the_drift_function_may_only_put_metrics_in_its_namespace(dev):
    statements = [
        s
        for p in dev.resources("Monitoring", "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    (put,) = [s for s in statements if s["Action"] == "cloudwatch:PutMetricData"]
    assert put["Condition"] == {"StringEquals": {"cloudwatch:namespace": "SageLane/dev"}}


def test_a_dashboard_per_model_shows_runs_versions_endpoint_and_drift(dev):
    boards = dev.resources("Monitoring", "AWS::CloudWatch::Dashboard")
    names = sorted(b["Properties"]["DashboardName"] for b in boards.values())
    assert names == ["sagelane-dev-churn-xgboost", "sagelane-dev-penguins-species"]
    board = next(b for b in boards.values() if b["Properties"]["DashboardName"] == "sagelane-dev-churn-xgboost")
    body = json.dumps(board["Properties"]["DashboardBody"])
    for expected in ("ExecutionsFailed", "VersionMetric", "Invocation5XXErrors", "ModelLatency", "FeaturePSI"):
        assert expected in body, expected
    assert "sagelane-dev-churn-xgboost-drift" in body or "Drift" in body


def test_quality_alarms_watch_the_live_primary_metric_at_the_contract_threshold(dev):
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in dev.resources("Monitoring", "AWS::CloudWatch::Alarm").values()
    }
    churn = alarms["sagelane-dev-churn-xgboost-quality"]
    assert (churn["Namespace"], churn["MetricName"], churn["Statistic"]) == ("SageLane/dev", "LiveMetric", "Minimum")
    assert churn["Dimensions"] == [{"Name": "Metric", "Value": "roc_auc"}, {"Name": "Model", "Value": "churn-xgboost"}]
    assert churn["Threshold"] == 0.75 and churn["ComparisonOperator"] == "LessThanThreshold"  # contracts/churn.yaml
    assert churn["TreatMissingData"] == "notBreaching" and churn["AlarmActions"]
    penguins = alarms["sagelane-dev-penguins-species-quality"]
    assert penguins["Threshold"] == 0.9 and {"Name": "Metric", "Value": "macro_f1"} in penguins["Dimensions"]


def test_drift_and_quality_alarms_both_start_retraining(dev):
    rules = [r for r in dev.resources("Monitoring", "AWS::Events::Rule").values() if "EventPattern" in r["Properties"]]
    names = sorted(n for r in rules for n in r["Properties"]["EventPattern"]["detail"]["alarmName"])
    assert names == [
        "sagelane-dev-churn-xgboost-drift",
        "sagelane-dev-churn-xgboost-quality",
        "sagelane-dev-penguins-species-drift",
        "sagelane-dev-penguins-species-quality",
    ]
