"""The provisioner creates what a template declares, in dependency order, and reports what it skips."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from sagelane.local.assembly import AssemblyError, Stack
from sagelane.local.lambdas import LocalLambda
from sagelane.local.provision import Provisioner

TEMPLATE = {
    "Resources": {
        # declared before what it depends on: the provisioner must order them
        "Alarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": {"Fn::Join": ["-", [{"Ref": "Topic"}, "errors"]]},
                "MetricName": "Errors",
                "Namespace": "AWS/Lambda",
                "Statistic": "Sum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "AlarmActions": [{"Ref": "Topic"}],
            },
        },
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alerts"}},
        "Group": {"Type": "AWS::SageMaker::ModelPackageGroup", "Properties": {"ModelPackageGroupName": "penguins"}},
        "Job": {
            "Type": "AWS::Glue::Job",
            "Properties": {
                "Name": "validate-big",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Command": {"Name": "glueetl", "ScriptLocation": "s3://b/script.py"},
                "GlueVersion": "5.0",
            },
        },
        "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
        "Param": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": "/x/topic", "Type": "String", "Value": {"Ref": "Topic"}},
        },
        "Odd": {"Type": "AWS::AppRunner::Service", "Properties": {}},
    }
}


def test_resources_are_created_in_dependency_order_and_skips_are_listed(tmp_path):
    with mock_aws():
        provisioner = Provisioner(account="123456789012", region="us-east-1", functions=LocalLambda())
        summary = provisioner.provision([Stack(name="S", template=TEMPLATE, outdir=tmp_path)])
        topic_arn = "arn:aws:sns:us-east-1:123456789012:alerts"
        (alarm,) = boto3.client("cloudwatch", region_name="us-east-1").describe_alarms()["MetricAlarms"]
        assert alarm["AlarmName"] == f"{topic_arn}-errors" and alarm["AlarmActions"] == [topic_arn]
        assert (
            boto3.client("ssm", region_name="us-east-1").get_parameter(Name="/x/topic")["Parameter"]["Value"]
            == topic_arn
        )
        groups = boto3.client("sagemaker", region_name="us-east-1").list_model_package_groups()[
            "ModelPackageGroupSummaryList"
        ]
        assert [g["ModelPackageGroupName"] for g in groups] == ["penguins"]
        assert (
            boto3.client("glue", region_name="us-east-1").get_job(JobName="validate-big")["Job"]["GlueVersion"] == "5.0"
        )
    assert summary.skipped == {"AWS::IAM::Role": 1, "AWS::AppRunner::Service": 1}
    assert "  skipped   1 AWS::AppRunner::Service (not emulated locally)" in summary.lines()


def test_a_reference_that_never_resolves_is_a_clear_error(tmp_path):
    template = {
        "Resources": {
            "P": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": "/p", "Type": "String", "Value": {"Ref": "Ghost"}},
            }
        }
    }
    with mock_aws(), pytest.raises(AssemblyError, match="S: cannot resolve references of P"):
        Provisioner(account="123456789012", region="us-east-1", functions=LocalLambda()).provision(
            [Stack(name="S", template=template, outdir=tmp_path)]
        )
    assert json.dumps(template)  # the template is left untouched
