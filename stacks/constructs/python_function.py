"""A Python Lambda function built from ``lambdas/<name>/`` plus the ``sagelane`` package, without Docker.

The code asset is staged at synth time by copying files (nothing is downloaded): the handler folder,
the ``sagelane`` package and the environment's contracts as JSON. Third-party packages come from the
dependency layer (``build/lambda/deps.zip``, built by ``./dev setup``) and the Powertools managed layer.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Size
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from sagelane import settings
from sagelane.config import Project
from sagelane.errors import ConfigError
from sagelane.runtime import PACKAGED_CONTRACTS
from stacks.constructs.nag import acknowledge, skip_checkov

RUNTIME: lambda_.Runtime = getattr(lambda_.Runtime, "PYTHON_" + settings.LAMBDA_PYTHON_VERSION.replace(".", "_"))
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


def dependency_layer(scope: Construct, id: str, *, root: Path) -> lambda_.LayerVersion:
    """The layer with the third-party packages the functions import (polars, pydantic, pyyaml)."""
    archive = root / "build" / "lambda" / "deps.zip"
    if not archive.is_file():
        raise ConfigError(f"{archive} is missing: run ./dev setup (it builds the Lambda dependency layer)")
    return lambda_.LayerVersion(
        scope,
        id,
        code=lambda_.Code.from_asset(str(archive)),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[lambda_.Architecture.ARM_64],
        description="SageLane runtime dependencies from uv.lock (polars, pydantic, pyyaml)",
    )


def powertools_layer(scope: Construct, id: str) -> lambda_.ILayerVersion:
    """The Powertools managed layer, pinned to the locked version through AWS's public SSM parameter."""
    python = f"python{settings.LAMBDA_PYTHON_VERSION}"
    arn = ssm.StringParameter.value_for_string_parameter(
        scope, f"/aws/service/powertools/python/arm64/{python}/{settings.POWERTOOLS_VERSION}"
    )
    return lambda_.LayerVersion.from_layer_version_arn(scope, id, arn)


def stage_code(project: Project, handler: str) -> Path:
    """Copy the function's sources into ``build/lambda/src/<hash>`` and return that folder.

    The folder name is the hash of what it holds, so parallel synths agree and stale copies are harmless.
    """
    handler_dir = project.root / "lambdas" / handler
    if not (handler_dir / "handler.py").is_file():
        raise ConfigError(f"{handler_dir}/handler.py not found")
    return _stage(project, handler, handler_dir, "contracts")


def stage_package(project: Project) -> Path:
    """The ``sagelane`` package with the contracts inside it (``sagelane/_contracts``), for the Glue job.

    Glue imports ``--extra-py-files`` from a zip, where only package resources can be read.
    """
    return _stage(project, "glue", None, f"sagelane/{PACKAGED_CONTRACTS}")


def _stage(project: Project, name: str, handler_dir: Path | None, contracts_at: str) -> Path:
    root = project.root
    contracts = {n: c.model_dump_json(indent=1) for n, c in sorted(project.contracts.items())}
    digest = hashlib.sha256(contracts_at.encode())
    tree = [*handler_dir.rglob("*.py")] if handler_dir else []
    sources = sorted(p for p in [*tree, *(root / "sagelane").rglob("*.py")] if "__pycache__" not in p.parts)
    for path in sources:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    for contract, text in contracts.items():
        digest.update(contract.encode() + text.encode())
    target = root / "build" / "lambda" / "src" / f"{name}-{digest.hexdigest()[:16]}"
    if target.is_dir():
        return target
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    if handler_dir:
        shutil.copytree(handler_dir, partial, ignore=_IGNORED)
    shutil.copytree(root / "sagelane", partial / "sagelane", ignore=_IGNORED)
    (partial / contracts_at).mkdir()
    for contract, text in contracts.items():
        (partial / contracts_at / f"{contract}.json").write_text(text, encoding="utf-8")
    try:
        partial.rename(target)
    except OSError:  # another process staged the same content first
        shutil.rmtree(partial, ignore_errors=True)
    return target


# checkov findings that hold for every function of the kit, and why they are accepted.
FUNCTION_SKIPS = {
    "CKV_AWS_115": "Invoked only by the kit's workflows and schedules (one run per file, training or deploy; "
    "backfills bounded by their Distributed Map); reserving concurrency per function would take it from the "
    "account's shared pool.",
    "CKV_AWS_117": "The functions call only AWS APIs (S3, Glue, SageMaker, DynamoDB) and reach no private resource; "
    "a VPC would add NAT or endpoint costs and cold-start latency without narrowing access, which IAM does.",
    "CKV_AWS_173": "Environment variables hold names and ARNs only, encrypted at rest by Lambda's AWS-owned key; "
    "the one secret (the PII salt) is read from Secrets Manager under the lake's KMS key.",
}


class PythonFunction(Construct):
    """An arm64 Python Lambda function with Powertools, bounded logs and the SageLane code staged in.

    Its logs go to a log group encrypted with ``log_key``. Functions the kit's workflows invoke synchronously
    need no dead-letter queue (a failure returns to the workflow, which catches it and notifies); those invoked
    asynchronously (schedules) pass ``dead_letter_queue``.

    Exposes ``function`` and ``log_group``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        project: Project,
        handler: str,
        description: str,
        layers: list[lambda_.ILayerVersion],
        environment: dict[str, str],
        memory_mb: int = 1024,
        timeout: Duration | None = None,
        ephemeral_storage_mb: int = 512,
        log_retention: logs.RetentionDays,
        log_key: kms.IKey,
        removal_policy: RemovalPolicy,
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=log_retention, removal_policy=removal_policy, encryption_key=log_key
        )
        env = project.config.name
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.lambda_handler",
            code=lambda_.Code.from_asset(str(stage_code(project, handler))),
            layers=layers,
            memory_size=memory_mb,
            timeout=timeout or Duration.minutes(5),
            ephemeral_storage_size=Size.mebibytes(ephemeral_storage_mb),
            log_group=self.log_group,
            dead_letter_queue=dead_letter_queue,
            logging_format=lambda_.LoggingFormat.JSON,
            environment={
                "POWERTOOLS_SERVICE_NAME": f"sagelane-{handler.replace('_', '-')}",
                "POWERTOOLS_METRICS_NAMESPACE": f"SageLane/{env}",
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **environment,
            },
        )
        assert self.function.role is not None
        acknowledge(
            self.function.role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "The AWS managed basic execution role only allows writing the function's own CloudWatch logs.",
        )
        for check, reason in FUNCTION_SKIPS.items():
            skip_checkov(self.function, check, reason)
        if dead_letter_queue is None:
            skip_checkov(
                self.function,
                "CKV_AWS_116",
                "Invoked synchronously by a Step Functions workflow, whose Catch notifies and ends in a named "
                "failure; Lambda sends only asynchronous invocations to a dead-letter queue.",
            )
