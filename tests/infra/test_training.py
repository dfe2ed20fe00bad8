"""TrainingStack wiring: the .sync training task, retries, catches, the approval gate, triggers."""

from __future__ import annotations

import json

from tests.synth import definition


def _statements(synth, role_fragment: str) -> list[dict]:
    out = []
    for policy in synth.resources("Training", "AWS::IAM::Policy").values():
        if role_fragment in json.dumps(policy["Properties"]["Roles"]):
            out += policy["Properties"]["PolicyDocument"]["Statement"]
    return out


def _actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_training_runs_as_a_sync_sagemaker_job_retried_on_throttling(dev):
    states = definition(dev.template("Training"))["States"]
    train = states["Train"]
    assert train["Resource"] == "arn:aws:states:::sagemaker:createTrainingJob.sync"
    assert train["Parameters"]["AlgorithmSpecification"]["TrainingImage.$"] == "$.prepared.job.image"
    assert train["Parameters"]["EnableInterContainerTrafficEncryption"] is True
    transient, capacity = train["Retry"]
    # throttling arrives as the SDK's base exception (its code in the Cause): retried briefly
    assert transient["ErrorEquals"] == ["SageMaker.AmazonSageMakerException"] and transient["MaxAttempts"] == 2
    # no training capacity left: worth waiting for
    assert capacity["ErrorEquals"] == ["SageMaker.ResourceLimitExceededException"]
    assert capacity["IntervalSeconds"] == 60 and capacity["MaxAttempts"] == 4


def test_every_task_catches_and_the_run_always_releases_its_lock(dev):
    states = definition(dev.template("Training"))["States"]
    for name, state in states.items():
        if state["Type"] != "Task" or name in ("NotifyTrainingFailure",):
            continue
        assert state.get("Catch"), f"{name} has no Catch"
    assert states["NotifyTrainingFailure"]["Catch"][0]["Next"] == "FailedAnyway"
    assert states["NotifyLockFailure"]["Catch"][0]["Next"] == "LockFailed"
    for end in ("Failed", "FailedAnyway", "RegisteredOutcome", "RejectedOutcome"):
        assert states[end]["Next"] == "Release"
    ends = {n: s for n, s in states.items() if s["Type"] in ("Fail", "Succeed")}
    assert {n for n, s in ends.items() if s["Type"] == "Fail"} == {"TrainingFailed", "CandidateRejected", "LockFailed"}
    assert {n for n, s in ends.items() if s["Type"] == "Succeed"} == {"Registered", "Coalesced"}


def test_a_second_trigger_coalesces_into_the_running_training(dev):
    states = definition(dev.template("Training"))["States"]
    acquire = states["Acquire"]
    assert acquire["Parameters"]["ConditionExpression"] == "attribute_not_exists(model)"
    held = next(c for c in acquire["Catch"] if c["ErrorEquals"] == ["DynamoDB.ConditionalCheckFailedException"])
    assert held["Next"] == "MarkPending" and states["MarkPending"]["Next"] == "Coalesced"
    assert states["Gather"]["Seconds"] == 5  # dev's training.coalesce_seconds
    assert states["RetrainPending"]["Parameters"]["StateMachineArn.$"] == "$$.StateMachine.Id"


def test_prod_pipeline_may_only_create_versions_pending_manual_approval(prod, dev):
    (create,) = [
        s for s in _statements(prod, "RegisterFunctionServiceRole") if "sagemaker:CreateModelPackage" in _actions(s)
    ]
    assert create["Condition"] == {"StringEquals": {"sagemaker:ModelApprovalStatus": "PendingManualApproval"}}
    for synth in (dev, prod):
        for role in (
            "PrepareFunctionServiceRole",
            "RegisterFunctionServiceRole",
            "EvaluateFunctionServiceRole",
            "TrainWorkflowRole",
        ):
            actions = {a for s in _statements(synth, role) for a in _actions(s)}
            assert "sagemaker:UpdateModelPackage" not in actions, role  # only approvers change approval


def test_the_approver_policy_is_an_output_and_the_only_one_that_approves(prod):
    outputs = prod.template("Training")["Outputs"]
    assert "ApproverPolicyArn" in outputs
    (policy,) = prod.resources("Training", "AWS::IAM::ManagedPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    update = next(s for s in statements if "sagemaker:UpdateModelPackage" in _actions(s))
    assert all("model-package/sagelane-prod-" in json.dumps(r) for r in update["Resource"])


def test_schedules_and_the_curated_trigger_start_the_workflow(prod):
    rules = prod.resources("Training", "AWS::Events::Rule")
    schedules = {
        r["Properties"]["ScheduleExpression"] for r in rules.values() if "ScheduleExpression" in r["Properties"]
    }
    assert schedules == {"rate(7 days)", "cron(0 3 ? * MON *)"}
    curated = [r for r in rules.values() if "EventPattern" in r["Properties"]]
    patterns = [r["Properties"]["EventPattern"] for r in curated]
    assert {json.dumps(p["detail"]["dataset"]) for p in patterns} == {'["penguins"]', '["churn"]'}
    assert all(p["source"] == ["sagelane"] and p["detail"]["environment"] == ["prod"] for p in patterns)


def test_gpu_training_in_prod_uses_the_gpu_image_without_a_volume_key(prod):
    template = prod.template("Training")
    mappings = template["Mappings"]
    assert any(k.endswith("TrainingGpu") for k in mappings)
    gpu = next(v for k, v in mappings.items() if k.endswith("XgboostTrainingGpu"))
    assert gpu["us-east-1"]["uri"].endswith("sagemaker-xgboost:3.2-0")
    from sagelane.config import has_instance_storage

    assert has_instance_storage("ml.g4dn.xlarge") and has_instance_storage("ml.g5.2xlarge")
    assert not has_instance_storage("ml.m5.xlarge")


def test_ingest_announces_curated_files(dev):
    states = definition(dev.template("Ingest"))["States"]
    announce = states["AnnounceCurated"]
    assert announce["Resource"].endswith(":states:::events:putEvents")
    (entry,) = announce["Parameters"]["Entries"]
    assert entry["Source"] == "sagelane" and entry["DetailType"] == "SageLane Dataset Curated"


def test_the_code_asset_carries_the_hashed_index_free_requirements_and_their_wheels(dev, root):
    """The containers install only what the tarball holds (sagelane.training.wheelhouse): the asset the
    template points at is the wheelhouse's requirements.txt and wheels, with the training code."""
    import io
    import tarfile

    from sagelane.training import wheelhouse

    assets = json.loads((dev.outdir / "SageLane-dev-Training.assets.json").read_text())["files"]
    (source,) = [a["source"]["path"] for a in assets.values() if a["source"]["path"].endswith(".tar.gz")]
    with tarfile.open(fileobj=io.BytesIO((dev.outdir / source).read_bytes()), mode="r:gz") as tar:
        names = set(tar.getnames())
        requirements = tar.extractfile("requirements.txt").read().decode()  # type: ignore[union-attr]
    house = wheelhouse.location(root)
    assert requirements == (house / "requirements.txt").read_text()
    assert {"train.py", "inference.py"} <= names
    assert {n for n in names if n.startswith("wheels/")} == {f"wheels/{w.name}" for w in wheelhouse.wheel_files(house)}
