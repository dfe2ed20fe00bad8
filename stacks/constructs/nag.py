"""Scanner acknowledgements (cdk-nag at synth, checkov on the templates): one finding at a time, with the reason."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import IConstruct


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on ``construct`` (e.g. ``AwsSolutions-IAM5[Resource::*]``).

    Findings with several instances (IAM5) must name the instance in brackets: a bare rule id would
    silence every future instance too, which this kit never does.
    """
    if finding.startswith("AwsSolutions-IAM5") and "[" not in finding:
        raise ValueError(f"{finding}: acknowledge one IAM5 finding (RuleId[Finding]), not the whole rule")
    if len(reason.strip()) < 20:
        raise ValueError(f"{finding}: the reason must explain why the finding is acceptable")
    Validations.of(construct).acknowledge(Acknowledgment(id=finding, reason=reason))


_UNSCOPED: dict[str, list[str]] = {}  # construct path → why it holds actions on "*"


def acknowledge_unscoped(construct: IConstruct, reason: str) -> None:
    """Acknowledge ``AwsSolutions-IAM5[Resource::*]`` on ``construct`` for one more reason: a role can hold
    several actions without resource-level permissions, and its one acknowledgement names them all."""
    reasons = _UNSCOPED.setdefault(construct.node.path, [])
    if reason not in reasons:
        reasons.append(reason)
    acknowledge(construct, "AwsSolutions-IAM5[Resource::*]", " ".join(reasons))


def list_model_packages(grantee: IConstruct, statements: Callable[[iam.PolicyStatement], Any]) -> None:
    """``sagemaker:ListModelPackages``, which the Service Authorization Reference gives no required
    resource type: AWS authorizes it on "*" (a grant scoped to package ARNs is denied), so it is granted
    there, and ``grantee`` (the role or managed policy) acknowledges it."""
    statements(iam.PolicyStatement(actions=["sagemaker:ListModelPackages"], resources=["*"]))
    acknowledge_unscoped(
        grantee,
        "sagemaker:ListModelPackages has no resource-level permissions (it lists version summaries only; "
        "describing and updating versions stays scoped to this environment's package groups).",
    )


def skip_checkov(construct: IConstruct, check: str, reason: str) -> None:
    """Skip one checkov check (e.g. ``CKV_AWS_117``) on the resource ``construct`` synthesizes, with the reason.

    checkov reads the skip from the resource's ``Metadata.checkov.skip``; it applies to that resource only.
    """
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path}: checkov skips go on a CloudFormation resource")
    if not check.startswith("CKV_"):
        raise ValueError(f"{check}: not a checkov check id")
    if len(reason.strip()) < 20:
        raise ValueError(f"{check}: the reason must explain why the finding is acceptable")
    metadata = resource.get_metadata("checkov") or {}
    skips = [s for s in metadata.get("skip", []) if s["id"] != check]
    resource.add_metadata("checkov", {**metadata, "skip": [*skips, {"id": check, "comment": reason}]})


def acknowledge_workflow_role(machine: sfn.StateMachine, functions: Iterable[lambda_.IFunction]) -> None:
    """The findings every traced, logged state machine invoking Lambda functions gets from CDK's grants."""
    stack = Stack.of(machine)
    acknowledge_unscoped(
        machine.role,
        "X-Ray tracing (xray:PutTraceSegments...) and CloudWatch Logs delivery (logs:CreateLogDelivery...) "
        "accept no resource narrower than '*'; these are the only actions on it.",
    )
    for fn in functions:
        logical = stack.get_logical_id(fn.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            machine.role,
            f"AwsSolutions-IAM5[Resource::<{logical}.Arn>:*]",
            "lambda:InvokeFunction on the versions and aliases of this one function (CDK's LambdaInvoke grant).",
        )
