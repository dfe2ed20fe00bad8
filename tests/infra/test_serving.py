"""ServingStack: the deploy workflow per serving mode, endpoint alarms, rollback, autoscaling, the invoke policy."""

from __future__ import annotations

import json

from tests.synth import definition


def _states(synth) -> dict:
    return definition(synth.template("Serving"))["States"]


def _settings(synth, model: str) -> dict:
    return _states(synth)[f"Settings-{model}"]["Result"]


def _variant(synth, model: str) -> dict:
    (variant,) = _states(synth)[f"EndpointConfig-{model}"]["Parameters"]["ProductionVariants"]
    return variant


def test_serverless_endpoint_config(dev, prod):
    config = _states(dev)["EndpointConfig-penguins-species"]
    assert config["Resource"] == "arn:aws:states:::aws-sdk:sagemaker:createEndpointConfig"
    variant = _variant(dev, "penguins-species")
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    assert "InstanceType" not in variant and "InitialInstanceCount" not in variant
    assert variant["VariantName"] == "live" and variant["ModelName.$"] == "$.plan.model_name"
    assert "LakeKey" in config["Parameters"]["KmsKeyId"]  # the lake key
    assert "DataCaptureConfig" not in config["Parameters"]  # serverless endpoints have no data capture
    assert _variant(prod, "penguins-species")["ServerlessConfig"]["ProvisionedConcurrency"] == 1
    assert "autoscaling" not in _settings(dev, "penguins-species")


def test_gpu_instance_endpoint_uses_the_gpu_image_and_no_kms_key_on_nvme(prod):
    config = _states(prod)["EndpointConfig-churn-xgboost"]["Parameters"]
    (variant,) = config["ProductionVariants"]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.g5.xlarge", 2)
    assert "ServerlessConfig" not in variant
    assert "KmsKeyId" not in config  # g5 has local NVMe storage, encrypted in hardware
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 20
    assert config["DataCaptureConfig"]["DestinationS3Uri"].endswith("/capture/churn-xgboost")
    # the version is registered with the GPU inference image the endpoint runs
    register = next(
        f
        for f in prod.resources("Training", "AWS::Lambda::Function").values()
        if f["Properties"].get("Description") == "Register a candidate in the Model Registry"
    )
    models = json.dumps(register["Properties"]["Environment"]["Variables"]["SAGELANE_MODELS"])
    assert "ImageXgboostInferenceGpu" in models
    mapping = prod.template("Training")["Mappings"]["ImageXgboostInferenceGpu"]
    assert "sagemaker-xgboost" in mapping["us-east-1"]["uri"]


def test_cpu_instance_endpoint_keeps_the_kms_key(dev):
    config = _states(dev)["EndpointConfig-churn-xgboost"]["Parameters"]
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
    assert "LakeKey" in config["KmsKeyId"]


def test_endpoint_alarms_watch_errors_and_latency_of_the_live_variant(prod):
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in prod.resources("Serving", "AWS::CloudWatch::Alarm").values()
    }
    errors = alarms["sagelane-prod-churn-xgboost-5xx-errors"]
    assert (errors["Namespace"], errors["MetricName"], errors["Statistic"]) == (
        "AWS/SageMaker",
        "Invocation5XXErrors",
        "Sum",
    )
    dimensions = {d["Name"]: d["Value"] for d in errors["Dimensions"]}
    assert dimensions == {"EndpointName": "sagelane-prod-churn-xgboost", "VariantName": "live"}
    latency = alarms["sagelane-prod-churn-xgboost-p99-latency"]
    assert (latency["MetricName"], latency["ExtendedStatistic"], latency["Threshold"]) == (
        "ModelLatency",
        "p99",
        200_000,
    )
    assert all(a["AlarmActions"] and a["OKActions"] for a in alarms.values())
    assert len(alarms) == 5  # two per model, and throttling of the serverless one


def test_blue_green_rollout_rolls_back_on_the_endpoint_alarms(dev, prod):
    deployment = _settings(prod, "churn-xgboost")["deployment"]
    routing = deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {
        "Type": "CANARY",
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
        "WaitIntervalInSeconds": 600,
    }
    assert deployment["AutoRollbackConfiguration"]["Alarms"] == [
        {"AlarmName": "sagelane-prod-churn-xgboost-5xx-errors"},
        {"AlarmName": "sagelane-prod-churn-xgboost-p99-latency"},
    ]
    # one instance cannot split: all at once, still baked under the alarms
    single = _settings(dev, "churn-xgboost")["deployment"]
    assert single["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "ALL_AT_ONCE"
    assert single["BlueGreenUpdatePolicy"]["TerminationWaitInSeconds"] == 60
    update = _states(prod)["UpdateEndpoint"]
    assert update["Resource"] == "arn:aws:states:::aws-sdk:sagemaker:updateEndpoint"
    assert update["Parameters"]["DeploymentConfig.$"] == "$.serving.deployment"


def test_instance_endpoints_get_an_autoscaling_target_and_policy(prod):
    assert _settings(prod, "churn-xgboost")["autoscaling"] == {"min": 2, "max": 6, "target": 3000.0}
    states = _states(prod)
    target = states["RegisterScalableTarget"]["Parameters"]
    assert target["ServiceNamespace"] == "sagemaker"
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert target["ResourceId.$"] == "States.Format('endpoint/{}/variant/live', $.plan.endpoint)"
    policy = states["PutScalingPolicy"]["Parameters"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
    }
    assert states["Autoscaled?"]["Choices"][0]["Next"] == "RegisterScalableTarget"
    statements = [
        s
        for p in prod.resources("Serving", "AWS::IAM::Policy").values()
        if "DeployWorkflowRole" in json.dumps(p["Properties"]["Roles"])
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert any("application-autoscaling:RegisterScalableTarget" in s["Action"] for s in statements)
    passes = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert passes and all(
        s["Condition"]["StringEquals"]["iam:PassedToService"] == "sagemaker.amazonaws.com" for s in passes
    )


def test_only_approvals_and_rejections_of_the_models_group_start_a_deploy(dev):
    rules = dev.resources("Serving", "AWS::Events::Rule")
    assert len(rules) == 2
    for rule in rules.values():
        pattern = rule["Properties"]["EventPattern"]
        assert pattern["source"] == ["aws.sagemaker"]
        assert pattern["detail-type"] == ["SageMaker Model Package State Change"]
        assert pattern["detail"]["ModelApprovalStatus"] == ["Approved", "Rejected"]  # never unfiltered
        assert pattern["detail"]["ModelPackageGroupName"][0].startswith("sagelane-dev-")


def test_the_invoke_policy_allows_invoking_the_endpoints_and_nothing_else(dev):
    (policy,) = dev.resources("Serving", "AWS::IAM::ManagedPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "sagemaker:InvokeEndpoint"
    resources = json.dumps(statement["Resource"])
    assert "endpoint/sagelane-dev-penguins-species" in resources and "endpoint/sagelane-dev-churn-xgboost" in resources
    assert "InvokePolicyArn" in dev.template("Serving")["Outputs"]


def test_every_step_that_can_fail_is_caught_and_notified(dev):
    states = _states(dev)
    for name, state in states.items():
        if state["Type"] == "Task" and not name.startswith("Notify"):
            assert state.get("Catch"), f"{name} has no Catch"
    fails = {n for n, s in states.items() if s["Type"] == "Fail"}
    assert fails == {"DeployFailed", "SmokeTestFailed", "NoVersionToRollBackTo", "RequestRefused", "NotServedHere"}
    assert states["SmokeTest"]["Catch"][0]["Next"] == "HadPrevious?"
    assert states["RollBack"]["Parameters"]["EndpointConfigName.$"] == "$.plan.previous_endpoint_config"


def test_serverless_models_capture_through_the_container_environment(dev, prod):
    states = _states(dev)
    container = states["CreateModel-penguins-species"]["Parameters"]["PrimaryContainer"]
    assert container["ModelPackageName.$"] == "$.plan.package_arn"
    env = container["Environment"]
    uri = json.dumps(env["SAGELANE_CAPTURE_S3_URI"])
    assert uri.startswith('"s3://sagelane-dev-artifacts-') and uri.endswith(
        '/capture/penguins-species/sagelane-dev-penguins-species/live"'
    )
    assert env["SAGELANE_CAPTURE_PERCENT"] == "100" and "LakeKey" in json.dumps(env["SAGELANE_CAPTURE_KMS_KEY"])
    assert (
        _states(prod)["CreateModel-penguins-species"]["Parameters"]["PrimaryContainer"]["Environment"][
            "SAGELANE_CAPTURE_PERCENT"
        ]
        == "20"
    )
    # instance endpoints use SageMaker's data capture instead
    assert "Environment" not in states["CreateModel-churn-xgboost"]["Parameters"]["PrimaryContainer"]
    assert "DataCaptureConfig" in states["EndpointConfig-churn-xgboost"]["Parameters"]


def test_serverless_endpoints_alarm_on_throttling_without_rolling_back(dev):
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in dev.resources("Serving", "AWS::CloudWatch::Alarm").values()
    }
    alarm = alarms["sagelane-dev-penguins-species-throttling"]
    assert (alarm["MetricName"], alarm["Statistic"], alarm["Threshold"]) == (
        "ServerlessConcurrentExecutionsUtilization",
        "Maximum",
        0.9,
    )
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (5, 3) and alarm["AlarmActions"]
    assert "sagelane-dev-churn-xgboost-throttling" not in alarms  # instance endpoints scale out instead
    rollback = _settings(dev, "penguins-species")["deployment"]["AutoRollbackConfiguration"]["Alarms"]
    assert {"AlarmName": "sagelane-dev-penguins-species-throttling"} not in rollback
