"""The pipeline's way in: a role GitHub Actions assumes through OIDC to deploy this environment and check it.

Deployed once by an administrator (``npx cdk deploy SageLane-<env>-Delivery -c env=<env>``); from then on the
workflow (.github/workflows/delivery.yml) deploys everything else. The role:

- trusts only the configured repository's jobs that run in the GitHub environment of the same name
  (``repo:<owner>/<name>:environment:<env>``): a pull request or another branch cannot assume it, and prod's
  GitHub environment has required reviewers;
- may only assume the account's CDK bootstrap roles (``cdk deploy`` does the rest through CloudFormation's
  execution role) and read what ``sagelane doctor`` checks after the deployment.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from sagelane.alarms import prefix as alarm_prefix
from sagelane.config import Project
from stacks.constructs.nag import acknowledge, list_model_packages

GITHUB_OIDC = "token.actions.githubusercontent.com"
_COLON = ArnFormat.COLON_RESOURCE_NAME


class DeliveryStack(Stack):
    """Exposes ``role`` (the pipeline's deploy role) and ``provider`` (GitHub's OIDC provider)."""

    def __init__(self, scope: Construct, id: str, *, project: Project, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        config = project.config
        delivery = config.delivery
        assert delivery is not None
        env = config.name
        # The native AWS::IAM::OIDCProvider (no custom resource, no thumbprint to pin: IAM trusts GitHub's CA).
        if delivery.create_oidc_provider:
            self.provider: iam.IOidcProvider = iam.OidcProviderNative(
                self, "GitHubOidc", url=f"https://{GITHUB_OIDC}", client_ids=["sts.amazonaws.com"]
            )
        else:
            existing = self.format_arn(service="iam", region="", resource="oidc-provider", resource_name=GITHUB_OIDC)
            self.provider = iam.OidcProviderNative.from_oidc_provider_arn(self, "GitHubOidc", existing)
        self.role = iam.Role(
            self,
            "DeployRole",
            role_name=f"sagelane-{env}-github-deploy",
            description=f"GitHub Actions ({delivery.github_repository}, environment {env}) deploys SageLane {env}",
            assumed_by=iam.WebIdentityPrincipal(
                self.provider.oidc_provider_arn,
                conditions={
                    "StringEquals": {
                        f"{GITHUB_OIDC}:aud": "sts.amazonaws.com",
                        f"{GITHUB_OIDC}:sub": f"repo:{delivery.github_repository}:environment:{env}",
                    }
                },
            ),
        )
        bootstrap = self.format_arn(
            service="iam", region="", resource="role", resource_name=f"cdk-{delivery.cdk_qualifier}-*"
        )
        self.role.add_to_policy(iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[bootstrap]))
        self._doctor_reads(env)
        acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/cdk-{delivery.cdk_qualifier}-*]",
            "cdk deploy assumes the account's bootstrap roles (deploy, file publishing, lookup); their names end "
            "in the account and region and are created by cdk bootstrap, not by this app.",
        )
        CfnOutput(
            self,
            "DeployRoleArn",
            value=self.role.role_arn,
            description="the GitHub environment secret AWS_DEPLOY_ROLE_ARN",
        )

    def _doctor_reads(self, env: str) -> None:
        """What ``sagelane doctor`` reads after a deployment, scoped to this environment where AWS allows."""
        stacks = self.format_arn(service="cloudformation", resource="stack", resource_name=f"SageLane-{env}-*/*")
        buckets = f"arn:{self.partition}:s3:::sagelane-{env}-*"
        alarms = self.format_arn(
            service="cloudwatch", resource="alarm", resource_name=f"{alarm_prefix(env)}*", arn_format=_COLON
        )
        parameters = self.format_arn(service="ssm", resource="parameter", resource_name=f"sagelane/{env}/*")
        sagemaker = [
            self.format_arn(service="sagemaker", resource="endpoint", resource_name=f"sagelane-{env}-*"),
            self.format_arn(service="sagemaker", resource="model-package-group", resource_name=f"sagelane-{env}-*"),
            self.format_arn(service="sagemaker", resource="model-package", resource_name=f"sagelane-{env}-*"),
        ]
        machines = self.format_arn(service="states", resource="stateMachine", resource_name="*", arn_format=_COLON)
        executions = self.format_arn(service="states", resource="execution", resource_name="*", arn_format=_COLON)
        for actions, resources in (
            (["cloudformation:DescribeStacks", "cloudformation:GetTemplate"], [stacks]),
            (["s3:GetEncryptionConfiguration", "s3:GetBucketVersioning"], [buckets]),
            (["cloudwatch:DescribeAlarms"], [alarms]),
            (["ssm:GetParameter"], [parameters]),
            (["sagemaker:DescribeEndpoint", "sagemaker:DescribeModelPackage"], sagemaker),
            (["states:ListExecutions"], [machines]),
            (["states:DescribeExecution", "states:GetExecutionHistory"], [executions]),
        ):
            self.role.add_to_policy(iam.PolicyStatement(actions=actions, resources=resources))
        list_model_packages(self.role, self.role.add_to_policy)
        for resource, why in (
            (f"arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/SageLane-{env}-*/*", "stacks"),
            (f"arn:<AWS::Partition>:s3:::sagelane-{env}-*", "lake buckets"),
            (f"arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:{alarm_prefix(env)}*", "alarms"),
            (f"arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/sagelane/{env}/*", "parameters"),
            (f"arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:endpoint/sagelane-{env}-*", "endpoints"),
            (
                f"arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:model-package-group/sagelane-{env}-*",
                "model package groups",
            ),
            (
                f"arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:model-package/sagelane-{env}-*",
                "model packages",
            ),
        ):
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[Resource::{resource}]",
                f"Read-only ({why}) for sagelane doctor after a deployment, limited to this environment's names.",
            )
        for resource, what in (
            ("arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:*", "state machines"),
            ("arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:*", "executions"),
        ):
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[Resource::{resource}]",
                f"Read-only listing of workflow runs for sagelane doctor: the {what}' names are generated by "
                "CloudFormation in the other stacks, which this stack must not depend on (it is deployed first).",
            )
