"""Serving on the embedded AWS: approve → deploy → predict; update; reject → roll back; failed smoke test."""

from __future__ import annotations

import io
import json
import tarfile

import boto3
import pytest

from sagelane.runs import describe_run, list_runs
from sagelane.samples import PENGUIN_EXAMPLES, churn_frame, write_frame
from tests.e2e.conftest import cli, settle

pytestmark = pytest.mark.slow
MODEL = "penguins-species"
GROUP = f"sagelane-dev-{MODEL}"
ENDPOINT = f"sagelane-dev-{MODEL}"


@pytest.fixture
def inbox(subscribe):
    """Messages published to the serving topic."""
    return subscribe("Serving")


def deploy_runs() -> list:
    return sorted(list_runs("dev", "deploy", limit=200), key=lambda r: r.started)


def live_config(endpoint: str = ENDPOINT) -> str:
    return boto3.client("sagemaker").describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]


def record(model: str = MODEL) -> dict:
    dynamodb = boto3.client("dynamodb")
    table = next(t for t in dynamodb.list_tables()["TableNames"] if "Deployments" in t)
    return dynamodb.get_item(TableName=table, Key={"model": {"S": model}})["Item"]


def new_version(source_version: int = 1, *, model_data: str | None = None) -> int:
    """Register another version of the model from an existing one's container (optionally other model data)."""
    sagemaker = boto3.client("sagemaker")
    packages = sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    source = next(p for p in packages if p["ModelPackageVersion"] == source_version)
    described = sagemaker.describe_model_package(ModelPackageName=source["ModelPackageArn"])
    container = dict(described["InferenceSpecification"]["Containers"][0])
    if model_data:
        container["ModelDataUrl"] = model_data
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [{k: container[k] for k in ("Image", "ModelDataUrl", "Environment")}],
            "SupportedContentTypes": ["application/json", "text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        CustomerMetadataProperties=described.get("CustomerMetadataProperties", {}),
    )["ModelPackageArn"]
    return sagemaker.describe_model_package(ModelPackageName=arn)["ModelPackageVersion"]


def predict(capsys, records: list[dict]) -> list[dict]:
    code, out = cli(capsys, "predict", MODEL, "--json", json.dumps(records), "--output", "json")
    assert code == 0, out
    return json.loads(out)


@pytest.fixture
def trained(served, capsys, penguins_csv):
    """Version 1 of penguins-species, trained on the sample data and awaiting approval."""
    cli(capsys, "data", "push", str(penguins_csv), "--dataset", "penguins", "--wait")
    settle()
    return served


def test_approve_deploys_update_and_reject_rolls_back(trained, capsys, inbox, tmp_path):
    from sagelane.serving.local import load_version

    # as an approver would: holding the kit's approver policy and nothing else
    code, out = cli(capsys, "--policy", "sagelane-dev-model-approver", "models", "approve", MODEL, "1")
    assert code == 0, out
    settle()
    (run,) = deploy_runs()
    assert (run.status, describe_run(run.arn).end_state) == ("SUCCEEDED", "Deployed"), run.cause
    sagemaker = boto3.client("sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName=ENDPOINT)
    assert endpoint["EndpointStatus"] == "InService" and "-v1-" in endpoint["EndpointConfigName"]
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    (variant,) = config["ProductionVariants"]
    assert variant["VariantName"] == "live" and variant["ServerlessConfig"]["MaxConcurrency"] == 5
    assert record()["version"]["N"] == "1"
    assert any(m["Subject"] == "SageLane: a model version is live" for m in inbox())

    # the endpoint answers exactly what the model artifact answers, loaded as its container loads it
    loaded, _ = load_version("dev", MODEL, 1, tmp_path)
    body, _ = loaded.invoke(json.dumps(PENGUIN_EXAMPLES).encode(), "application/json", "application/json")
    assert predict(capsys, PENGUIN_EXAMPLES) == json.loads(body)
    # and as an application would, holding the invoke policy
    code, out = cli(capsys, "--policy", "sagelane-dev-invoke", "predict", MODEL, "--json", json.dumps(PENGUIN_EXAMPLES))
    assert code == 0, out

    # a malformed request is the client's error, naming the field; the endpoint keeps serving
    code, out = cli(capsys, "predict", MODEL, "--json", json.dumps({**PENGUIN_EXAMPLES[0], "island": "Mars"}))
    assert code == 2 and "field 'island' must be one of" in out
    assert predict(capsys, PENGUIN_EXAMPLES[:1])[0]["prediction"] == "Gentoo"

    # a newer approved version replaces it
    assert new_version() == 2
    cli(capsys, "models", "approve", MODEL, "2")
    settle()
    assert describe_run(deploy_runs()[-1].arn).end_state == "Deployed"
    assert "-v2-" in live_config() and record()["version"]["N"] == "2"
    assert record()["previous_version"]["N"] == "1"

    # the same event delivered again changes nothing
    approval = next(d for d in reversed(trained.cloud.deliveries) if d.event.get("source") == "aws.sagemaker")
    trained.cloud.deliver(approval.event)
    settle()
    duplicate = describe_run(deploy_runs()[-1].arn)
    assert duplicate.end_state == "NothingToDeploy" and "already live" in duplicate.output["plan"]["reason"]

    # rejecting the live version rolls back to the previous approved one
    code, out = cli(capsys, "models", "reject", MODEL, "2", "--comment", "bad feedback")
    assert code == 0, out
    settle()
    rollback = describe_run(deploy_runs()[-1].arn)
    assert rollback.end_state == "Deployed" and "rolling back to version 1" in rollback.output["plan"]["reason"]
    assert "-v1-" in live_config() and record()["version"]["N"] == "1"
    assert predict(capsys, PENGUIN_EXAMPLES) == json.loads(body)
    code, out = cli(capsys, "models", "list", MODEL)
    assert code == 0 and [line.split()[:2] + line.split()[-2:-1] for line in out.splitlines() if "yes" in line] == [
        ["1", "Approved", "yes"]
    ]
    code, out = cli(capsys, "runs", "list", "--workflow", "deploy")
    assert f"{GROUP} v2 Rejected" in out

    # an operator puts a chosen Approved version back; a rejected one is refused
    code, out = cli(capsys, "models", "deploy", MODEL, "2")
    assert code == 2 and "is Rejected: only Approved versions are deployed" in out
    assert new_version() == 3
    cli(capsys, "models", "approve", MODEL, "3")
    settle()
    assert "-v3-" in live_config()
    code, out = cli(capsys, "models", "deploy", MODEL, "1", "--wait")
    assert code == 0 and "Deployed: requested" in out, out
    assert "-v1-" in live_config()


def test_a_failed_smoke_test_leaves_the_old_version_serving(trained, capsys, inbox, tmp_path):
    cli(capsys, "models", "approve", MODEL, "1")
    settle()
    serving = live_config()
    # version 2's artifact is not a model: it deploys, fails its smoke test, and is rolled back
    broken = tmp_path / "model.tar.gz"
    with tarfile.open(broken, "w:gz") as tar:
        data = b"not a model"
        info = tarfile.TarInfo("model.joblib")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    bucket = "sagelane-dev-artifacts-123456789012-us-east-1"
    boto3.client("s3").upload_file(str(broken), bucket, "training/broken/model.tar.gz")
    version = new_version(model_data=f"s3://{bucket}/training/broken/model.tar.gz")
    cli(capsys, "models", "approve", MODEL, str(version))
    settle()
    run = describe_run(deploy_runs()[-1].arn)
    assert (run.status, run.error) == ("FAILED", "SmokeTestFailed"), run.cause
    assert live_config() == serving and record()["version"]["N"] == "1"
    assert predict(capsys, PENGUIN_EXAMPLES[:1])[0]["prediction"] == "Gentoo"
    message = next(m for m in inbox() if "smoke test" in m["Subject"])
    assert (
        f"version {version} failed its smoke test" in message["Message"]
        and "rolled back to version 1" in (message["Message"])
    )


def test_rejecting_the_only_live_version_keeps_it_serving_and_says_so(trained, capsys, inbox):
    cli(capsys, "models", "approve", MODEL, "1")
    settle()
    cli(capsys, "models", "reject", MODEL, "1")
    settle()
    run = describe_run(deploy_runs()[-1].arn)
    assert (run.status, run.error) == ("FAILED", "NoVersionToRollBackTo")
    assert "-v1-" in live_config()
    assert any("no other version is Approved" in m["Message"] for m in inbox())


def test_an_instance_endpoint_is_autoscaled_its_traffic_captured_and_drift_retrains(served, capsys, tmp_path):
    path = write_frame(churn_frame(20_000, seed=11), tmp_path / "churn.csv")
    cli(capsys, "data", "push", str(path), "--dataset", "churn", "--wait")
    settle(240)
    code, out = cli(capsys, "models", "approve", "churn-xgboost", "1")
    assert code == 0, (out, [describe_run(r.arn).cause for r in list_runs("dev", "train")])
    # the XGBoost image serves with the protobuf implementation that loads its own generated code
    from sagelane.registry import group_name

    sagemaker = boto3.client("sagemaker")
    (summary,) = sagemaker.list_model_packages(ModelPackageGroupName=group_name("dev", "churn-xgboost"))[
        "ModelPackageSummaryList"
    ]
    package = sagemaker.describe_model_package(ModelPackageName=summary["ModelPackageArn"])
    container_env = package["InferenceSpecification"]["Containers"][0]["Environment"]
    assert container_env["PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"] == "python"
    settle()
    run = describe_run(deploy_runs()[-1].arn)
    assert run.end_state == "Deployed", run.cause
    endpoint = "sagelane-dev-churn-xgboost"
    config = boto3.client("sagemaker").describe_endpoint_config(EndpointConfigName=live_config(endpoint))
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 100
    scaling = boto3.client("application-autoscaling")
    (target,) = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert target["ResourceId"] == f"endpoint/{endpoint}/variant/live"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 2)
    (policy,) = scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 600.0
    batch = write_frame(churn_frame(1000, seed=12).drop("churned"), tmp_path / "batch.csv")
    code, out = cli(capsys, "predict", "churn-xgboost", "--file", str(batch), "--output", "json")
    assert code == 0, out
    assert len(json.loads(out)) == 1000

    # the endpoint's data capture (100 % in dev) feeds the drift check: in-distribution traffic is stable
    code, out = cli(capsys, "monitor", "churn-xgboost", "--json")
    assert code == 0, out
    stable = json.loads(out)
    # (the deploy's smoke test, 2 rows, is traffic too)
    assert (stable["version"], stable["requests"], stable["rows"]) == (1, 2, 1002)
    assert stable["max_psi"] < 0.1, stable
    # traffic whose customers pay three times as much drifts, feature and prediction alike
    import polars as pl

    drifted = churn_frame(1000, seed=13).drop("churned").with_columns(pl.col("monthly_charges") * 3)
    cli(capsys, "predict", "churn-xgboost", "--file", str(write_frame(drifted, tmp_path / "drifted.csv")))
    report = tmp_path / "drift.html"
    code, out = cli(capsys, "monitor", "churn-xgboost", "--html", str(report))
    assert code == 0 and "3 requests, 2,002 rows" in out, out
    table = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("monthly_charges")}
    assert float(table["monthly_charges"][2]) > 0.25 and "significant" in out
    assert "published" in out and report.read_text().count("<svg") >= 5

    # the published drift crosses the drift alarm: ALARM → "CloudWatch Alarm State Change" → retraining
    alarm = "sagelane-dev-churn-xgboost-drift"
    settle(240)
    (state,) = boto3.client("cloudwatch").describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    assert state["StateValue"] == "ALARM", state
    retrain = [r for r in list_runs("dev", "train", limit=50) if r.input.get("trigger") == "alarm"]
    assert len(retrain) == 1 and retrain[0].input == {"model": "churn-xgboost", "trigger": "alarm", "alarm": alarm}
    # its notification went out: CloudWatch may use the lake key the topics are encrypted with (key policy)
    assert served.cloud.alarms.failed_actions == []
    run = describe_run(retrain[0].arn)
    assert run.end_state in ("Registered", "CandidateRejected"), run.cause
    if run.end_state == "Registered":
        code, out = cli(capsys, "models", "show", "churn-xgboost", "2")
        assert alarm in out


def test_a_serverless_endpoint_captures_its_own_traffic_and_bad_labels_raise_the_quality_alarm(
    trained, capsys, penguins_csv, tmp_path
):
    import polars as pl

    code, out = cli(capsys, "models", "approve", MODEL, "1")
    assert code == 0, out
    settle()
    assert describe_run(deploy_runs()[-1].arn).end_state == "Deployed"
    container = boto3.client("sagemaker").describe_model(
        ModelName=boto3.client("sagemaker").describe_endpoint_config(EndpointConfigName=live_config())[
            "ProductionVariants"
        ][0]["ModelName"]
    )["PrimaryContainer"]
    assert container["Environment"]["SAGELANE_CAPTURE_PERCENT"] == "100"  # the kit's capture, set by the workflow
    rows = pl.read_csv(penguins_csv, null_values=["NA", ""]).drop_nulls().sample(60, seed=1).to_dicts()
    truth = [row.pop("species") for row in rows]
    for i, row in enumerate(rows):
        code, out = cli(capsys, "predict", MODEL, "--json", json.dumps(row), "--inference-id", f"good-{i}")
        assert code == 0, out
    settle()  # the embedded AWS writes the capture buffer as the container's timer would

    # the captured traffic feeds the drift check (SageMaker captures nothing on serverless endpoints)
    code, out = cli(capsys, "monitor", MODEL, "--json")
    assert code == 0, out
    report = json.loads(out)
    assert (report["requests"], report["rows"]) == (61, 62)  # and the smoke test's request of two rows
    assert {f["name"] for f in report["features"]} >= {"bill_length_mm", "island", "prediction"}
    assert report["quality"]["labelled"] == 0

    # true labels: the live metric is good
    labels = tmp_path / "labels.csv"
    labels.write_text("inference_id,species\n" + "".join(f"good-{i},{t}\n" for i, t in enumerate(truth)))
    code, out = cli(capsys, "labels", MODEL, str(labels))
    assert code == 0 and "60 labels for penguins-species" in out, out
    code, out = cli(capsys, "monitor", MODEL)
    assert code == 0 and "live macro_f1" in out and "on 60 labelled rows" in out and "ok" in out, out
    alarm = "sagelane-dev-penguins-species-quality"
    settle(30)
    (state,) = boto3.client("cloudwatch").describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    assert state["StateValue"] != "ALARM"

    # the same traffic again, labelled with the wrong species: quality falls, the alarm retrains
    for i, row in enumerate(rows):
        assert cli(capsys, "predict", MODEL, "--json", json.dumps(row), "--inference-id", f"bad-{i}")[0] == 0
    settle()
    wrong = {"Adelie": "Gentoo", "Gentoo": "Chinstrap", "Chinstrap": "Adelie"}
    labels.write_text(
        "inference_id,species\n" + "".join(f"bad-{i},{wrong[t]}\n" for i, t in enumerate(truth)) + "unknown-9,Adelie\n"
    )
    assert cli(capsys, "labels", MODEL, str(labels))[0] == 0
    code, out = cli(capsys, "monitor", MODEL, "--json")
    quality = json.loads(out)["quality"]
    assert (quality["labelled"], quality["unmatched"], quality["files"]) == (120, 1, 2)
    assert quality["value"] < 0.9, quality
    # the scheduled check (the Lambda the schedule rule invokes) comes to the same figures
    name = next(name for name in trained.cloud.functions.functions if "DriftMonitor" in name)
    payload = boto3.client("lambda").invoke(FunctionName=name, Payload=json.dumps({"model": MODEL}))["Payload"]
    answer = json.loads(payload.read())
    assert answer["monitored"] and answer["rows"] == 122 and answer["quality"] == quality, answer
    settle(240)
    (state,) = boto3.client("cloudwatch").describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    assert state["StateValue"] == "ALARM", state
    retrain = [r for r in list_runs("dev", "train", limit=50) if r.input.get("trigger") == "alarm"]
    assert len(retrain) == 1 and retrain[0].input == {"model": MODEL, "trigger": "alarm", "alarm": alarm}
    assert trained.cloud.alarms.failed_actions == []  # the alarm's notification was published
    bad_file = tmp_path / "bad.csv"
    bad_file.write_text("id,species\nx,Adelie\n")
    code, out = cli(capsys, "labels", MODEL, str(bad_file))
    assert code != 0 and "needs the fields inference_id and species" in out
