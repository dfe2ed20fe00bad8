"""The doctor's pure parts: alarm runbooks, template fingerprints, the rendered report."""

from __future__ import annotations

from sagelane import alarms
from sagelane.doctor import Diagnosis, Finding, template_fingerprint


def test_every_alarm_the_kit_names_has_a_runbook_line_with_the_model_filled_in():
    names = [
        *alarms.rollback_alarm_names("prod", "churn-xgboost").values(),
        alarms.throttling_alarm_name("prod", "churn-xgboost"),
        alarms.drift_alarm_name("prod", "churn-xgboost"),
        alarms.quality_alarm_name("prod", "churn-xgboost"),
    ]
    for name in names:
        assert name.startswith(alarms.prefix("prod"))
        text = alarms.runbook(name, "prod")
        assert text and "{" not in text, name
        assert "churn-xgboost" in text, name
    # the longest suffix wins: the drift *check* alarm is not a drift alarm of a model named "drift-check"
    failed = alarms.runbook(alarms.drift_check_failed_alarm_name("prod"), "prod")
    assert failed is not None and "FailedDriftChecks" in failed
    assert alarms.runbook("sagelane-prod-something-else", "prod") is None


def test_a_template_fingerprint_ignores_key_order_but_not_content():
    a = {"Resources": {"A": {"Type": "X", "Properties": {"p": 1, "q": 2}}}, "Description": "d"}
    b = {"Description": "d", "Resources": {"A": {"Properties": {"q": 2, "p": 1}, "Type": "X"}}}
    assert template_fingerprint(a) == template_fingerprint(b)
    assert template_fingerprint(a) != template_fingerprint({**a, "Description": "e"})


def test_the_report_puts_the_fix_under_each_problem_and_ends_with_the_verdict():
    diagnosis = Diagnosis(env="dev", where="AWS")
    diagnosis.findings += [
        Finding("stacks", "SageLane-dev-DataLake", "ok", "UPDATE_COMPLETE", "never shown for ok"),
        Finding("alarms", "sagelane-dev-m-drift", "problem", "in ALARM", "approve the candidate"),
    ]
    lines = diagnosis.render().splitlines()
    assert lines[0] == "sagelane doctor: environment dev (AWS)"
    assert "never shown" not in "\n".join(lines)
    problem = next(i for i, line in enumerate(lines) if "PROBLEM" in line)
    assert lines[problem + 1].strip() == "fix: approve the candidate"
    assert lines[-1].startswith("1 problem(s)") and not diagnosis.healthy
    assert diagnosis.to_dict()["healthy"] is False
