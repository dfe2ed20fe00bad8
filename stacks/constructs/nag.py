"""cdk-nag acknowledgements: one finding at a time, always with the reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
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
