"""IngestStack wiring: the rule, the functions' environment and permissions, the workflow's paths."""

from __future__ import annotations

import json

from sagelane import settings
from tests.synth import definition


def _join(value) -> str:
    """Render a Fn::Join of strings and pseudo parameters the way it reads."""
    if isinstance(value, str):
        return value
    parts = value["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else "<" + p.get("Ref", json.dumps(p)) + ">" for p in parts)


def test_one_rule_per_dataset_matches_object_created_under_its_prefix_in_raw(dev):
    rules = dev.resources("Ingest", "AWS::Events::Rule")
    patterns = {}
    for rule in rules.values():
        pattern = rule["Properties"]["EventPattern"]
        assert pattern["source"] == ["aws.s3"]
        assert pattern["detail-type"] == ["Object Created"]
        (bucket,) = pattern["detail"]["bucket"]["name"]
        assert _join(bucket) == "sagelane-dev-raw-<AWS::AccountId>-<AWS::Region>"
        (prefix,) = pattern["detail"]["object"]["key"]
        patterns[prefix["prefix"]] = rule
    assert set(patterns) == {"incoming/penguins/", "incoming/churn/"}


def test_rule_targets_the_workflow_with_the_object_version_and_a_dead_letter_queue(dev):
    (machine_id,) = [m for m in dev.resources("Ingest", "AWS::StepFunctions::StateMachine") if "IngestWorkflow" in m]
    (queue_id,) = dev.resources("Ingest", "AWS::SQS::Queue")
    for rule in dev.resources("Ingest", "AWS::Events::Rule").values():
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"] == {"Ref": machine_id}
        assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
        transformer = target["InputTransformer"]
        assert transformer["InputPathsMap"]["detail-object-version-id"] == "$.detail.object.version-id"
        template = transformer["InputTemplate"]
        assert '"version_id":<detail-object-version-id>' in template and '"size":<detail-object-size>' in template


def test_functions_get_the_right_buckets_and_limits_from_the_environment(dev):
    functions = dev.resources("Ingest", "AWS::Lambda::Function")
    by_service = {
        f["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]: f
        for f in functions.values()
        if "Environment" in f["Properties"]
    }
    assert {"sagelane-ingest-validate", "sagelane-ingest-curate", "sagelane-ingest-quarantine"} <= set(by_service)
    for fn in (by_service[f"sagelane-ingest-{n}"] for n in ("validate", "curate", "quarantine")):
        env = fn["Properties"]["Environment"]["Variables"]
        assert _join(env[settings.RAW_BUCKET]) == "sagelane-dev-raw-<AWS::AccountId>-<AWS::Region>"
        assert _join(env[settings.CURATED_BUCKET]) == "sagelane-dev-curated-<AWS::AccountId>-<AWS::Region>"
        assert _join(env[settings.QUARANTINE_BUCKET]) == "sagelane-dev-quarantine-<AWS::AccountId>-<AWS::Region>"
        assert env[settings.MAX_OBJECT_BYTES] == str(1024 * 1024 * 1024)
        assert fn["Properties"]["Architectures"] == ["arm64"]
        assert fn["Properties"]["Runtime"] == f"python{settings.LAMBDA_PYTHON_VERSION}"
        assert len(fn["Properties"]["Layers"]) == 2
    curate = by_service["sagelane-ingest-curate"]["Properties"]["Environment"]["Variables"]
    assert curate[settings.GLUE_DATABASE] == "sagelane_dev"
    assert settings.PII_SALT_SECRET_ARN in curate


def test_powertools_layer_is_pinned_to_the_locked_version(dev, root):
    import tomllib

    lock = tomllib.loads((root / "uv.lock").read_text())
    locked = next(p["version"] for p in lock["package"] if p["name"] == "aws-lambda-powertools")
    assert locked == settings.POWERTOOLS_VERSION
    parameters = dev.template("Ingest")["Parameters"]
    paths = [
        p["Default"] for p in parameters.values() if str(p.get("Default", "")).startswith("/aws/service/powertools")
    ]
    assert paths == [f"/aws/service/powertools/python/arm64/python{settings.LAMBDA_PYTHON_VERSION}/{locked}"]


def _policy_statements(synth, role_fragment: str) -> list[dict]:
    policies = synth.resources("Ingest", "AWS::IAM::Policy")
    statements = []
    for policy in policies.values():
        roles = json.dumps(policy["Properties"]["Roles"])
        if role_fragment in roles:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_functions_have_exact_actions_on_their_own_prefixes_only(dev):
    def s3_access(fragment):
        access = {}
        for statement in _policy_statements(dev, fragment):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith("s3:") for a in actions):
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                for r in resources:
                    access[_join(r).split(":::")[-1]] = sorted(actions)
        return access

    read = ["s3:GetObject", "s3:GetObjectVersion"]
    write = ["s3:AbortMultipartUpload", "s3:PutObject"]
    raw = "sagelane-dev-raw-<AWS::AccountId>-<AWS::Region>"
    curated = "sagelane-dev-curated-<AWS::AccountId>-<AWS::Region>"
    quarantine = "sagelane-dev-quarantine-<AWS::AccountId>-<AWS::Region>"
    assert s3_access("ValidateFunctionServiceRole") == {
        f"{raw}/incoming/*": read,
        f"{curated}/reports/*": write,
        f"{quarantine}/*": write,
    }
    assert s3_access("CurateFunctionServiceRole") == {f"{raw}/incoming/*": read, f"{curated}/data/*": write}
    assert s3_access("QuarantineFunctionServiceRole") == {f"{raw}/incoming/*": read, f"{quarantine}/*": write}
    for fragment in ("Validate", "Curate", "Quarantine"):
        for statement in _policy_statements(dev, f"{fragment}FunctionServiceRole"):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any("*" in a for a in actions), actions
            assert statement.get("Resource") != "*"


def test_every_task_catches_into_a_notification_and_a_named_failure(dev):
    asl = definition(dev.template("Ingest"))
    states = asl["States"]
    tasks = {name: s for name, s in states.items() if s["Type"] == "Task"}
    assert {"Claim", "Validate", "Curate", "Quarantine", "NotifyRejected", "NotifyFailure", "RecordFailed"} <= set(
        tasks
    )
    for name, task in tasks.items():
        if name == "NotifyFailure":
            assert task["Next"] == "IngestFailed"  # the last resort; it must not loop
            continue
        assert task.get("Catch"), f"{name} has no Catch"
        targets = {c["Next"] for c in task["Catch"]}
        assert targets & {"RecordFailed", "NotifyFailure"}, (name, targets)
    assert states["RecordFailed"]["Next"] == "NotifyFailure"
    fails = {name: s for name, s in states.items() if s["Type"] == "Fail"}
    assert {s["Error"] for s in fails.values()} == {"DataValidationFailed", "IngestFailed", "FileTooLarge"}


def test_duplicate_deliveries_end_at_the_claim(dev):
    claim = definition(dev.template("Ingest"))["States"]["Claim"]
    assert claim["Resource"].endswith(":states:::dynamodb:putItem")
    assert claim["Parameters"]["ConditionExpression"] == "attribute_not_exists(object_id) OR #status = :failed"
    duplicate = next(c for c in claim["Catch"] if c["ErrorEquals"] == ["DynamoDB.ConditionalCheckFailedException"])
    assert duplicate["Next"] == "AlreadyIngested"
    key = claim["Parameters"]["Item"]["object_id"]["S.$"]
    assert key == "States.Format('{}/{}#{}', $.bucket, $.key, $.version_id)"


def test_rejected_files_are_quarantined_notified_and_end_in_data_validation_failed(dev):
    states = definition(dev.template("Ingest"))["States"]
    verdict = states["Passed?"]
    assert verdict["Choices"][0] == {"Variable": "$.validation.passed", "BooleanEquals": True, "Next": "Curate"}
    assert verdict["Default"] == "Quarantine"
    assert states["Quarantine"]["Next"] == "RecordQuarantined"
    assert states["RecordQuarantined"]["Next"] == "NotifyRejected"
    assert states["NotifyRejected"]["Resource"].endswith(":states:::sns:publish")
    assert states["NotifyRejected"]["Next"] == "DataValidationFailed"


def test_files_route_by_size_to_the_lambda_the_spark_job_or_a_refusal(dev):
    states = definition(dev.template("Ingest"))["States"]
    above_spark, above_lambda = states["Which engine?"]["Choices"]
    assert above_spark == {"Variable": "$.size", "NumericGreaterThan": 500 * 1024**3, "Next": "RecordRefused"}
    assert above_lambda == {"Variable": "$.size", "NumericGreaterThan": 1024**3, "Next": "ValidateWithSpark"}
    assert states["Which engine?"]["Default"] == "Validate"
    assert states["RecordRefused"]["Next"] == "NotifyRefused"
    assert states["NotifyRefused"]["Next"] == "FileTooLarge"


def test_the_spark_path_waits_for_the_glue_run_then_takes_the_lambdas_paths(dev):
    states = definition(dev.template("Ingest"))["States"]
    run = states["ValidateWithSpark"]
    assert run["Resource"].endswith(":states:::glue:startJobRun.sync")
    assert run["Parameters"]["JobName"] == "sagelane-dev-validate-large"
    arguments = run["Parameters"]["Arguments"]
    assert arguments["--key.$"] == "$.key" and arguments["--version_id.$"] == "$.version_id"
    assert "$$.Execution.Name" in arguments["--result_uri.$"]
    assert run["Parameters"]["Timeout"] == 120 + 10  # minutes: the run stops itself past the job timeout
    assert {c["Next"] for c in run["Catch"]} == {"RecordFailed"}  # failures notify like every other task
    assert run["Next"] == "ReadSparkVerdict"
    read = states["ReadSparkVerdict"]
    assert read["Resource"].endswith(":states:::aws-sdk:s3:getObject")
    assert read["ResultSelector"] == {"document.$": "States.StringToJson($.Body)"}
    assert states["UseSparkVerdict"]["Next"] == "Passed by Spark?"
    verdict = states["Passed by Spark?"]
    assert verdict["Choices"][0]["Next"] == "RecordCurated"  # curated by the job: recorded and announced
    assert verdict["Default"] == "RecordQuarantined"  # quarantined by the job: recorded and notified


def test_spark_job_is_glue_5_without_bookmarks_with_workers_from_config_and_encryption(dev):
    (job,) = dev.resources("Ingest", "AWS::Glue::Job").values()
    props = job["Properties"]
    assert props["GlueVersion"] == "5.0"
    assert props["Command"]["Name"] == "glueetl"
    assert (props["WorkerType"], props["NumberOfWorkers"], props["Timeout"]) == ("G.1X", 10, 120)
    assert props["MaxRetries"] == 0
    arguments = props["DefaultArguments"]
    assert arguments["--job-bookmark-option"] == "job-bookmark-disable"
    assert arguments["--additional-python-modules"].startswith("pydantic==")
    assert arguments["--max_object_bytes"] == str(500 * 1024**3)
    (security,) = dev.resources("Ingest", "AWS::Glue::SecurityConfiguration").values()
    assert props["SecurityConfiguration"] == security["Properties"]["Name"]
    encryption = security["Properties"]["EncryptionConfiguration"]
    assert encryption["S3Encryptions"][0]["S3EncryptionMode"] == "SSE-KMS"
    assert encryption["CloudWatchEncryption"]["CloudWatchEncryptionMode"] == "SSE-KMS"
    assert encryption["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"] == "CSE-KMS"


def test_spark_job_role_reaches_only_the_ingest_prefixes(dev):
    access = {}
    for statement in _policy_statements(dev, "SparkValidationRole"):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any("*" in a for a in actions), actions
        assert statement.get("Resource") != "*"
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for r in resources:
            if any(a.startswith("s3:") for a in actions):
                access[_join(r).split(":::")[-1]] = sorted(actions)
    raw = "sagelane-dev-raw-<AWS::AccountId>-<AWS::Region>"
    curated = "sagelane-dev-curated-<AWS::AccountId>-<AWS::Region>"
    quarantine = "sagelane-dev-quarantine-<AWS::AccountId>-<AWS::Region>"
    read = ["s3:GetObject", "s3:GetObjectVersion"]
    write = ["s3:AbortMultipartUpload", "s3:PutObject"]
    assert access[f"{raw}/incoming/*"] == read
    assert access[f"{curated}/reports/*"] == write
    assert access[f"{curated}/data/*"] == write
    assert access[f"{curated}/_staging/*"] == sorted([*read, *write, "s3:DeleteObject"])
    assert access[f"{quarantine}/*"] == write
    assert not any(k.startswith(raw) and k != f"{raw}/incoming/*" for k in access)


def test_workflow_logs_everything_and_traces(dev):
    machines = dev.resources("Ingest", "AWS::StepFunctions::StateMachine")
    (machine,) = [m for logical, m in machines.items() if logical.startswith("IngestWorkflow")]
    props = machine["Properties"]
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"


def test_ledger_and_topic_are_encrypted_with_the_lake_key(dev, prod):
    for synth in (dev, prod):
        (table,) = synth.resources("Ingest", "AWS::DynamoDB::Table").values()
        assert table["Properties"]["SSESpecification"]["SSEType"] == "KMS"
        assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        (topic,) = synth.resources("Ingest", "AWS::SNS::Topic").values()
        assert "KmsMasterKeyId" in topic["Properties"]
    (prod_table,) = prod.resources("Ingest", "AWS::DynamoDB::Table").values()
    assert prod_table["Properties"]["DeletionProtectionEnabled"] is True


def test_backfill_maps_over_the_prefix_and_runs_the_ingest_workflow_for_each_object(dev):
    states = definition(dev.template("Ingest"), "BackfillWorkflow")["States"]
    each = states["IngestEach"]
    assert each["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert each["ItemReader"]["Resource"].endswith(":states:::s3:listObjectsV2")
    assert each["ItemReader"]["Parameters"]["Prefix.$"] == "$.prefix"
    assert each["MaxConcurrency"] == 10  # ingest.backfill_concurrency
    assert each["ToleratedFailurePercentage"] == 100  # one bad file never stops the others
    inner = each["ItemProcessor"]["States"]
    assert inner["Version"]["Resource"].endswith(":states:::aws-sdk:s3:headObject")
    assert inner["Ingest"]["Resource"].endswith(":states:::states:startExecution.sync:2")
    assert {c["Next"] for c in inner["Ingest"]["Catch"]} == {"NotIngested"}
    assert each["Next"] == "Summarize" and states["Summarize"]["Next"] == "Done"
