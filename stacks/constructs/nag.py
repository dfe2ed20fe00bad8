"""cdk-nag acknowledgements: one finding at a time, always with the reason."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Acknowledgment, Stack, Validations
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


def acknowledge_workflow_role(machine: sfn.StateMachine, functions: Iterable[lambda_.IFunction]) -> None:
    """The findings every traced, logged state machine invoking Lambda functions gets from CDK's grants."""
    stack = Stack.of(machine)
    acknowledge(
        machine.role,
        "AwsSolutions-IAM5[Resource::*]",
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
