"""The embedded AWS's IAM evaluation against AWS's documented policy logic (sagelane.local.iam)."""

from __future__ import annotations

from sagelane.local.iam import Authority, access_key_for

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/worker"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/locks"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:news"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROOT_KEY_POLICY = {
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
    ]
}


def _allow(actions, resources, **extra) -> dict:
    return {"Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources, **extra}]}


def _authority(*policies: dict) -> Authority:
    authority = Authority(account=ACCOUNT, region="us-east-1")
    authority.principal(ROLE).policies.extend(policies)
    return authority


def test_an_action_is_allowed_only_on_the_resources_granted():
    authority = _authority(_allow(["dynamodb:PutItem", "dynamodb:GetItem"], TABLE))
    worker = authority.principal(ROLE)
    assert authority.allowed(worker, "dynamodb:PutItem", TABLE)
    assert not authority.allowed(worker, "dynamodb:DeleteItem", TABLE)
    assert not authority.allowed(worker, "dynamodb:PutItem", TABLE + "-other")


def test_an_explicit_deny_wins_over_any_allow():
    deny = {"Statement": [{"Effect": "Deny", "Action": "dynamodb:*", "Resource": TABLE}]}
    authority = _authority(_allow("*", "*"), deny)
    assert not authority.allowed(authority.principal(ROLE), "dynamodb:GetItem", TABLE)


def test_conditions_are_evaluated():
    policy = _allow("sns:Publish", TOPIC, Condition={"Bool": {"aws:SecureTransport": "false"}})
    authority = _authority(policy)
    assert not authority.allowed(authority.principal(ROLE), "sns:Publish", TOPIC)  # calls are over TLS


def test_a_key_admits_only_whom_its_key_policy_admits():
    authority = _authority(_allow(["kms:Decrypt", "kms:GenerateDataKey"], KEY))
    worker = authority.principal(ROLE)
    assert not authority.allowed(worker, "kms:Decrypt", KEY)  # no key policy at all
    authority.resource_policies[KEY].append(ROOT_KEY_POLICY)  # the account root: IAM policies decide
    authority._decisions.clear()
    assert authority.allowed(worker, "kms:Decrypt", KEY)
    assert not authority.allowed(worker, "kms:Encrypt", KEY)


def test_writing_an_encrypted_table_needs_the_key_too():
    authority = _authority(_allow(["dynamodb:PutItem"], TABLE))
    authority.encrypted_by[TABLE] = KEY
    authority.resource_policies[KEY].append(ROOT_KEY_POLICY)
    worker = authority.principal(ROLE)
    checks = authority.checks("dynamodb", "PutItem", {"TableName": "locks"})
    assert checks == [("dynamodb:PutItem", TABLE), ("kms:Decrypt", KEY), ("kms:GenerateDataKey", KEY)]
    denial = authority.authorize(worker, checks)
    assert denial is not None and (denial.action, denial.resource) == ("kms:Decrypt", KEY)
    assert f"User: {ROLE} is not authorized to perform: kms:Decrypt on resource: {KEY}" in denial.message()
    worker.policies.append(_allow(["kms:Decrypt", "kms:GenerateDataKey"], KEY))
    assert authority.authorize(worker, checks) is None
    assert worker.used["dynamodb:PutItem"] == 1


def test_a_service_principal_needs_the_key_policy_statement_for_it():
    authority = Authority(account=ACCOUNT, region="us-east-1")
    authority.encrypted_by[TOPIC] = KEY
    authority.resource_policies[KEY].append(ROOT_KEY_POLICY)
    cloudwatch = authority.principal("cloudwatch.amazonaws.com")
    checks = authority.checks("sns", "Publish", {"TopicArn": TOPIC, "Message": "m"})
    assert authority.authorize(cloudwatch, checks) is not None
    authority.resource_policies[KEY].append(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
                }
            ]
        }
    )
    authority._decisions.clear()
    assert authority.authorize(cloudwatch, checks) is None


def test_each_principal_has_its_own_access_key():
    authority = Authority(account=ACCOUNT, region="us-east-1")
    first, second = authority.principal(ROLE), authority.principal(ROLE + "2")
    assert first.access_key != second.access_key and len(first.access_key) == 20
    assert authority.for_access_key(access_key_for(ROLE)) is first
    assert authority.for_access_key("sagelane-local") is None  # the operator


def test_s3_authorizes_the_action_the_bucket_policy_and_the_objects_key():
    import boto3
    import pytest
    from botocore.exceptions import ClientError
    from moto import mock_aws

    from sagelane.local import gate

    bucket, arn = "lake-artifacts", "arn:aws:s3:::lake-artifacts"
    authority = _authority(_allow(["s3:GetObject", "s3:PutObject"], f"{arn}/training/*"))
    authority.encrypted_by[arn] = KEY
    authority.resource_policies[KEY].append(ROOT_KEY_POLICY)
    credentials = authority.credentials(ROLE)
    gate.install(authority)
    try:
        with mock_aws():
            boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=bucket)
            s3 = boto3.client(
                "s3",
                region_name="us-east-1",
                aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=credentials["AWS_SESSION_TOKEN"],
            )
            with pytest.raises(ClientError) as put:
                s3.put_object(Bucket=bucket, Key="training/a", Body=b"x")  # no kms:GenerateDataKey
            assert put.value.response["Error"]["Code"] == "AccessDenied"
            assert f"perform: kms:GenerateDataKey on resource: {KEY}" in put.value.response["Error"]["Message"]
            authority.principal(ROLE).policies.append(_allow(["kms:GenerateDataKey", "kms:Decrypt"], KEY))
            authority._decisions.clear()
            s3.put_object(Bucket=bucket, Key="training/a", Body=b"x")
            assert s3.get_object(Bucket=bucket, Key="training/a")["Body"].read() == b"x"
            with pytest.raises(ClientError) as listed:  # a prefix channel lists: s3:ListBucket on the bucket
                s3.list_objects_v2(Bucket=bucket, Prefix="training/")
            assert f"perform: s3:ListBucket on resource: {arn}" in listed.value.response["Error"]["Message"]
            listing = _allow("s3:ListBucket", arn, Condition={"StringLike": {"s3:prefix": "training/*"}})
            authority.principal(ROLE).policies.append(listing)
            authority._decisions.clear()
            assert s3.list_objects_v2(Bucket=bucket, Prefix="training/")["KeyCount"] == 1
            with pytest.raises(ClientError):
                s3.list_objects_v2(Bucket=bucket, Prefix="other/")  # the condition holds
            with pytest.raises(ClientError) as deleted:  # DeleteObjects: s3:DeleteObject on each key
                s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "training/a"}]})
            message = deleted.value.response["Error"]["Message"]
            assert f"perform: s3:DeleteObject on resource: {arn}/training/a" in message
            authority.principal(ROLE).policies.append(_allow("s3:DeleteObject", f"{arn}/training/*"))
            authority._decisions.clear()
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "training/a"}]})
            with pytest.raises(ClientError):
                s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "training/b"}, {"Key": "other/c"}]})
    finally:
        gate.uninstall()


FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:monitor"
RULE = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/drift"


def _loaded(resources: dict[str, dict]) -> Authority:
    """An authority loaded from these resources of a template (a role's Ref: its name, its Arn: under role/)."""
    authority = Authority(account=ACCOUNT, region="us-east-1")

    def resolve(value):
        if isinstance(value, dict) and "Ref" in value:
            return value["Ref"]
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            return f"arn:aws:iam::{ACCOUNT}:role/{value['Fn::GetAtt'][0]}"
        return value

    authority.load(resources.items(), resolve)
    return authority


def test_a_function_admits_a_service_only_from_the_source_its_permission_names():
    """AWS::Lambda::Permission is the function's resource policy: EventBridge may invoke it for that rule."""
    permission = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": "monitor",
            "Principal": "events.amazonaws.com",
            "SourceArn": RULE,
        },
    }
    authority = _loaded({"Permission": permission})
    assert authority.service_invokes("events.amazonaws.com", "lambda:InvokeFunction", FUNCTION, source=RULE) is None
    other = authority.service_invokes("events.amazonaws.com", "lambda:InvokeFunction", FUNCTION, source=RULE + "-x")
    assert other is not None and "User: events.amazonaws.com is not authorized to perform: lambda:InvokeFunction" in (
        other.message()
    )
    assert authority.service_invokes("sns.amazonaws.com", "lambda:InvokeFunction", FUNCTION, source=RULE) is not None


def _role(trusted: dict) -> dict:
    statement = {"Effect": "Allow", "Principal": trusted, "Action": "sts:AssumeRole"}
    return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": [statement]}}}


def test_a_service_assumes_only_a_role_whose_trust_policy_names_it():
    authority = _loaded({"Events": _role({"Service": "events.amazonaws.com"})})
    role = f"arn:aws:iam::{ACCOUNT}:role/Events"
    assert authority.service_assumes("events.amazonaws.com", role, source=RULE) is None
    refused = authority.service_assumes("lambda.amazonaws.com", role, source=RULE)
    assert refused is not None and refused.reason == "the role's trust policy does not allow it"
    assert authority.service_assumes("events.amazonaws.com", "", source=RULE) is not None  # a target with no RoleArn
    assert authority.service_assumes("events.amazonaws.com", role + "x", source=RULE) is not None


def test_assuming_a_role_needs_its_trust_and_for_an_account_trust_the_callers_own_permission():
    account = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    authority = _loaded({"Named": _role({"AWS": ROLE}), "ByAccount": _role(account)})
    named, by_account = (f"arn:aws:iam::{ACCOUNT}:role/{n}" for n in ("Named", "ByAccount"))
    worker = authority.principal(ROLE)
    assert authority.assume(worker, named) is None  # the trust policy names the caller: enough
    assert authority.assume(authority.principal(ROLE + "2"), named) is not None
    assert authority.assume(worker, by_account) is not None  # the account is trusted, the caller grants nothing
    worker.policies.append(_allow("sts:AssumeRole", by_account))
    assert authority.assume(worker, by_account) is None
    assert authority.assume(None, by_account) is None  # the operator: full access
