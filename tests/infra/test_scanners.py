"""cfn-lint and checkov are clean on the synthesized templates of both environments; every skip is justified."""

from __future__ import annotations

import json
import shutil

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from scripts import scan_templates
from stacks.constructs.nag import skip_checkov

ENVS = ["dev", "prod"]


@pytest.mark.parametrize("env", ENVS)
def test_cfn_lint_finds_nothing(env, request):
    synth = request.getfixturevalue(env)
    assert scan_templates.cfn_lint(synth.outdir) == []


@pytest.mark.parametrize("env", ENVS)
def test_checkov_fails_nothing_and_every_skip_is_one_check_with_a_reason(env, request):
    synth = request.getfixturevalue(env)
    report = scan_templates.checkov(synth.outdir)
    assert report.failed == []
    assert report.passed > 300
    for skip in report.skipped:
        assert len(skip["reason"]) >= 20, skip
    # the skips the kit takes, and nothing broader: each is on named resources
    assert {s["check"] for s in report.skipped} <= {
        "CKV_AWS_18",  # the access-log bucket does not log into itself
        "CKV_AWS_27",  # the ingest DLQ uses SQS-managed encryption
        "CKV_AWS_115",  # no reserved concurrency per function
        "CKV_AWS_116",  # no DLQ on synchronously invoked functions
        "CKV_AWS_117",  # functions outside a VPC
        "CKV_AWS_173",  # environment variables under Lambda's own key
    }


def test_checkov_really_reports_a_careless_resource(dev, tmp_path):
    # given the dev templates plus one with an unencrypted, unversioned, unlogged bucket
    for template in dev.outdir.glob("*.template.json"):
        shutil.copy(template, tmp_path)
    careless = {"Resources": {"Careless": {"Type": "AWS::S3::Bucket", "Properties": {}}}}
    (tmp_path / "Careless.template.json").write_text(json.dumps(careless))
    # when scanned, then checkov names the bucket's findings
    failed = scan_templates.checkov(tmp_path).failed
    assert any(line.startswith("CKV_AWS_18 Careless.template.json AWS::S3::Bucket.Careless") for line in failed)
    assert all("Careless" in line for line in failed)


def test_cfn_lint_really_reports_a_broken_template(tmp_path):
    broken = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"NoSuchProperty": 1}}}}
    (tmp_path / "Broken.template.json").write_text(json.dumps(broken))
    (finding,) = scan_templates.cfn_lint(tmp_path)
    assert "E3002" in finding and "NoSuchProperty" in finding


def test_skip_checkov_goes_on_the_resource_and_merges_skips():
    stack = Stack(App(), "S")
    queue = sqs.Queue(stack, "Q")
    skip_checkov(queue, "CKV_AWS_27", "A reason long enough to explain the skip.")
    skip_checkov(queue, "CKV_AWS_999", "Another reason long enough to explain it.")
    skips = queue.node.default_child.get_metadata("checkov")["skip"]
    assert [s["id"] for s in skips] == ["CKV_AWS_27", "CKV_AWS_999"]


@pytest.mark.parametrize(
    ("check", "reason", "error"),
    [("CKV_AWS_18", "short", "reason"), ("AwsSolutions-S1", "a reason that is long enough", "checkov check id")],
)
def test_skip_checkov_refuses_a_skip_without_a_reason_or_a_check(check, reason, error):
    bucket = s3.Bucket(Stack(App(), "S"), "B")
    with pytest.raises(ValueError, match=error):
        skip_checkov(bucket, check, reason)
