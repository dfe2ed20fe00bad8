"""Create, in moto, what a synthesized cloud assembly declares — the way CloudFormation would.

moto's own CloudFormation cannot deploy these templates (no alarms, bucket policies, model package
groups; custom resources need Docker), so each resource type the flows use is created here through the
regular AWS APIs, in dependency order, with intrinsics resolved (``assembly.Resolver``). Types that have
no local meaning (IAM, log groups, layers...) are listed in the summary as skipped, never dropped
silently. Lambda functions are registered to run in-process (``lambdas.LocalLambda``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import secrets
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from sagelane.local.assembly import AssemblyError, Resolver, Stack
from sagelane.local.glue import CONTRACTS_ARGUMENT
from sagelane.local.iam import Authority
from sagelane.local.lambdas import LocalFunction, LocalLambda
from sagelane.runtime import PACKAGED_CONTRACTS

ROLE_ARN = "arn:aws:iam::{account}:role/sagelane-local"


@dataclass
class Rule:
    """An EventBridge rule with targets the local event pump delivers to."""

    stack: str
    name: str
    pattern: dict[str, Any]
    targets: list[dict[str, Any]]  # resolved CloudFormation targets
    arn: str = ""


@dataclass
class Summary:
    created: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        out = [f"  created {n:>3} {t}" for t, n in sorted(self.created.items()) if n]
        out += [f"  skipped {n:>3} {t} (not emulated locally)" for t, n in sorted(self.skipped.items())]
        return out


# Resource types that exist only for IAM, logging or deployment mechanics.
SKIPPED = {
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::Logs::LogGroup",
    "AWS::Lambda::LayerVersion",
    "AWS::Lambda::Permission",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::CDK::Metadata",
    "AWS::KMS::Alias",
}


class Provisioner:
    def __init__(
        self, *, account: str, region: str, functions: LocalLambda, authority: Authority | None = None
    ) -> None:
        self.account = account
        self.authority = authority  # principals and policies (sagelane.local.iam), when IAM is enforced
        self.region = region
        self.resolver = Resolver(account=account, region=region)
        self.functions = functions
        self.rules: list[Rule] = []
        self.summary = Summary()
        self.events_tap_queue_url: str | None = None
        self._asset_buckets: set[str] = set()
        self._clients: dict[str, Any] = {}
        self._handlers: dict[str, Callable[[Stack, str, dict[str, Any]], None]] = {
            "AWS::S3::Bucket": self._bucket,
            "Custom::S3BucketNotifications": self._bucket_notifications,
            "AWS::KMS::Key": self._kms_key,
            "AWS::SNS::Topic": self._topic,
            "AWS::SNS::Subscription": self._subscription,
            "AWS::SQS::Queue": self._queue,
            "AWS::DynamoDB::Table": self._table,
            "AWS::SecretsManager::Secret": self._secret,
            "AWS::Glue::Database": self._glue_database,
            "AWS::Glue::Table": self._glue_table,
            "AWS::SSM::Parameter": self._ssm_parameter,
            "AWS::Lambda::Function": self._function,
            "AWS::StepFunctions::StateMachine": self._state_machine,
            "AWS::Events::Rule": self._rule,
            "AWS::Glue::Job": self._glue_job,
            "AWS::CloudWatch::Alarm": self._alarm,
            "AWS::SageMaker::ModelPackageGroup": self._model_package_group,
        }

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=self.region)
        return self._clients[service]

    # --- driver ------------------------------------------------------------------------------------

    def provision(self, stacks: list[Stack]) -> Summary:
        for stack in stacks:
            self._publish_assets(stack)
            self._parameters(stack)
            self.resolver.mappings[stack.name] = stack.template.get("Mappings", {})
            pending = dict(stack.resources)
            while pending:
                progress = False
                for logical, resource in list(pending.items()):
                    if not self._ready(stack.name, resource):
                        continue
                    self._create(stack, logical, resource)
                    del pending[logical]
                    progress = True
                if not progress:
                    blocked = ", ".join(sorted(pending)[:5])
                    raise AssemblyError(f"{stack.name}: cannot resolve references of {blocked}")
            if self.authority is not None:
                self.authority.load(stack.resources.items(), functools.partial(self.resolver.resolve, stack.name))
            self._outputs(stack)
            self._register(stack)
        return self.summary

    def _publish_assets(self, stack: Stack) -> None:
        """Upload the stack's file assets to their bootstrap bucket, as ``cdk deploy`` does.

        Folder assets and the code of functions and layers are skipped: functions run from the assembly's
        staged folders and the project's environment. What runs from S3 — the training source tarball,
        whatever its size — is published.
        """
        manifest = stack.outdir / f"{stack.name}.assets.json"
        if not manifest.is_file():
            return
        lambda_code = json.dumps(
            [
                r.get("Properties", {}).get("Code") or r.get("Properties", {}).get("Content")
                for r in stack.resources.values()
                if r.get("Type") in ("AWS::Lambda::Function", "AWS::Lambda::LayerVersion")
            ]
        )
        s3 = self.client("s3")
        for asset in json.loads(manifest.read_text()).get("files", {}).values():
            source = stack.outdir / asset["source"]["path"]
            if asset["source"].get("packaging") != "file" or not source.is_file():
                continue
            if any(d["objectKey"] in lambda_code for d in asset["destinations"].values()):
                continue
            for destination in asset["destinations"].values():
                bucket = (
                    destination["bucketName"]
                    .replace("${AWS::AccountId}", self.account)
                    .replace("${AWS::Region}", self.region)
                )
                if bucket not in self._asset_buckets:
                    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
                        s3.create_bucket(Bucket=bucket)
                    self._asset_buckets.add(bucket)
                # one PUT, not a multipart upload: moto gives a copy of a multipart object a checksum its
                # body does not match (FlexibleChecksumError on the copy's download); AWS does not
                s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=source.read_bytes())
                self.summary.created["CDK file asset (published)"] += 1

    def _ready(self, stack: str, resource: dict[str, Any]) -> bool:
        if resource["Type"] in SKIPPED or resource["Type"] not in self._handlers:
            return True
        try:
            self.resolver.resolve(stack, resource.get("Properties", {}))
            return True
        except AssemblyError:
            return False

    def _declared_name(self, stack: Stack, resource: dict[str, Any], field: str) -> str | None:
        value = resource.get("Properties", {}).get(field)
        if value is None:
            return None
        try:
            resolved = self.resolver.resolve(stack.name, value)
        except AssemblyError:
            return None
        return resolved if isinstance(resolved, str) else None

    def _create(self, stack: Stack, logical: str, resource: dict[str, Any]) -> None:
        type_ = resource["Type"]
        handler = self._handlers.get(type_)
        if handler is None:
            self.summary.skipped[type_] += 1
            # Skipped resources still answer Ref / GetAtt with a plausible value: a role's and a managed
            # policy's as IAM names them (the authorization reads their documents), others' by logical id.
            ref, arn = f"local-{logical}", self._arn("iam", f"role/{logical}", region="")
            name = self._declared_name(stack, resource, {"AWS::IAM::Role": "RoleName"}.get(type_, "ManagedPolicyName"))
            if type_ == "AWS::IAM::Role":
                ref, arn = name or logical, self._arn("iam", f"role/{name or logical}", region="")
            elif type_ == "AWS::IAM::ManagedPolicy":
                ref = arn = self._arn("iam", f"policy/{name or logical}", region="")
            self.resolver.refs[f"{stack.name}/{logical}"] = ref
            self.resolver.attrs[f"{stack.name}/{logical}.Arn"] = arn
            return
        props = self.resolver.resolve(stack.name, resource.get("Properties", {}))
        handler(stack, logical, props)
        self.summary.created[type_] += 1

    def _parameters(self, stack: Stack) -> None:
        for name, parameter in stack.template.get("Parameters", {}).items():
            default = parameter.get("Default", "")
            if "SSM::Parameter" in parameter.get("Type", ""):
                default = f"local-ssm:{default}"  # e.g. the Powertools layer ARN: no local meaning
            self.resolver.parameters[f"{stack.name}/{name}"] = str(default)

    def _outputs(self, stack: Stack) -> None:
        for output in stack.template.get("Outputs", {}).values():
            export = output.get("Export")
            if export:
                name = self.resolver.resolve(stack.name, export["Name"])
                self.resolver.exports[name] = self.resolver.resolve(stack.name, output["Value"])

    def _register(self, stack: Stack) -> None:
        """A CloudFormation stack of the same name, so DescribeStacks answers as after ``cdk deploy``.

        moto cannot create the real template's resources (see the module docstring); the placeholder holds
        one inert resource and the real template's fingerprint, which ``sagelane doctor`` compares.
        """
        from sagelane.doctor import PROVISIONED_METADATA, template_fingerprint

        placeholder = {
            "Description": stack.template.get("Description", stack.name),
            "Metadata": {PROVISIONED_METADATA: {"TemplateSha256": template_fingerprint(stack.template)}},
            "Resources": {"ProvisionedLocally": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        }
        with warnings.catch_warnings():  # moto warns that it does not model the inert resource: it need not
            warnings.simplefilter("ignore", UserWarning)
            self.client("cloudformation").create_stack(StackName=stack.name, TemplateBody=json.dumps(placeholder))
        self.summary.created["AWS::CloudFormation::Stack (placeholder)"] += 1

    # --- helpers -----------------------------------------------------------------------------------

    def _arn(self, service: str, resource: str, *, region: str | None = None) -> str:
        region = self.region if region is None else region
        return f"arn:aws:{service}:{region}:{self.account}:{resource}"

    def _physical(self, stack: Stack, logical: str, limit: int = 64, lower: bool = False) -> str:
        name = f"{stack.name}-{logical}"[:limit]
        return name.lower() if lower else name

    def _ref(self, stack: Stack, logical: str, value: str, **attrs: str) -> None:
        self.resolver.refs[f"{stack.name}/{logical}"] = value
        for attr, attr_value in attrs.items():
            self.resolver.attrs[f"{stack.name}/{logical}.{attr}"] = attr_value

    # --- resource types ----------------------------------------------------------------------------

    def _bucket(self, stack: Stack, logical: str, props: dict[str, Any]) -> None:
        name = props.get("BucketName") or self._physical(stack, logical, 63, lower=True)
        s3 = self.client("s3")
        if self.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        encryption = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration")
        if encryption:  # CloudFormation's property names differ from the API's here
            rules = [
                {
                    "ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"],
                    **({"BucketKeyEnabled": r["BucketKeyEnabled"]} if "BucketKeyEnabled" in r else {}),
                }
                for r in encryption
            ]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        self._ref(
            stack,
            logical,
            name,
            Arn=f"arn:aws:s3:::{name}",
            DomainName=f"{name}.s3.amazonaws.com",
            RegionalDomainName=f"{name}.s3.{self.region}.amazonaws.com",
        )

    def _bucket_notifications(self, stack: Stack, logical: str, props: dict[str, Any]) -> None:
        config = props.get("NotificationConfiguration", {})
        self.client("s3").put_bucket_notification_configuration(
            Bucket=props["BucketName"], NotificationConfiguration=config
        )
        self._ref(stack, logical, f"notifications-{props['BucketName']}")

    def _kms_key(self, stack: Stack, logical: str, props: dict[str, Any]) -> None:
        key = self.client("kms").create_key(Description=props.get("Description", logical))["KeyMetadata"]
        self._ref(stack, logical, key["KeyId"], Arn=key["Arn"], KeyId=key["KeyId"])

    def _topic(self, stack: Stack, logical: str, props: dict[str, Any]) -> None:
        name = props.get("TopicName") or self._physical(stack, logical, 256)
        arn = self.client("sns").create_topic(Name=name)["TopicArn"]
        self._ref(stack, logical, arn, TopicName=name, TopicArn=arn)

    def _subscription(self, stack: Stack, logical: str, props: dict[str, Any]) -> None:
        arn = self.client("sns").subscribe(
            TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props.get("Endpoint", "")
        )["SubscriptionArn"]
        self._ref(stack, logical, arn)

    def _queue(self, stack: Stack, logical: str, props: dict[str, Any]) -> None:
        name = props.get("QueueName") or self._physical(stack, logical, 80)
        url = self.client("sqs").create_queue(QueueName=name)["QueueUrl"]
        arn = self._arn("sqs", name)
        self._ref(stack, logical, url, Arn=arn, QueueName=name, QueueUrl=url)

    def _table(self, stack: Stack, logical: str, props: dict[str, Any]) -> None:
        name = props.get("TableName") or self._physical(stack, logical, 255)
        self.client("dynamodb").create_table(
            TableName=name,
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
        )
        self._ref(stack, logical, name, Arn=self._arn("dynamodb", f"table/{name}"))

    def _secret(self, stack: Stack, logical: str, props: dict[str, Any]) -> None:
        name = props.get("Name") or self._physical(stack, logical, 256)
        generate = props.get("GenerateSecretString")
        value = props.get("SecretString") or secrets.token_urlsafe(
            int(generate.get("PasswordLength", 32)) if generate else 32
        )
        arn = self.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
        self._ref(stack, logical, arn, Id=arn)

    def _glue_database(self, stack: Stack, logical: str, props: dict[str, Any]) -> None:
        database = props["DatabaseInput"]
        self.client("glue").create_database(DatabaseInput=database)
        self._ref(stack, logical, database["Name"])

    def _glue_table(self, stack: Stack, logical: str, props: dict[str, Any]) -> None:
        table = props["TableInput"]
        self.client("glue").create_table(DatabaseName=props["DatabaseName"], TableInput=table)
        self._ref(stack, logical, table["Name"])

    def _ssm_parameter(self, stack: Stack, logical: str, props: dict[str, Any]) -> None:
        name = props.get("Name") or f"/local/{stack.name}/{logical}"
        self.client("ssm").put_parameter(
            Name=name, Value=props["Value"], Type=props.get("Type", "String"), Overwrite=True
        )
        self._ref(stack, logical, name)

    def _function(self, stack: Stack, logical: str, props: dict[str, Any]) -> None:
        name = props.get("FunctionName") or self._physical(stack, logical, 64)
        arn = self._arn("lambda", f"function:{name}")
        self._ref(stack, logical, name, Arn=arn)
        if "ZipFile" in props.get("Code", {}):
            # Inline code: CDK's own custom-resource handlers, whose work the provisioner does itself
            # (e.g. Custom::S3BucketNotifications).
            self.summary.skipped["AWS::Lambda::Function (CDK custom-resource handler)"] += 1
            self.summary.created["AWS::Lambda::Function"] -= 1
            return
        code_dir = stack.asset_dir(logical)
        environment = {k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()}
        if self.authority is not None and props.get("Role"):
            # the Lambda runtime hands the handler its execution role's temporary credentials
            environment.update(self.authority.credentials(props["Role"]))
        self.functions.register(
            LocalFunction(
                name=name,
                arn=arn,
                code_dir=code_dir,
                handler=props["Handler"],
                environment=environment,
                memory_mb=int(props.get("MemorySize", 128)),  # CloudFormation's defaults where absent
                timeout_s=float(props.get("Timeout", 3)),
            )
        )

    def _state_machine(self, stack: Stack, logical: str, props: dict[str, Any]) -> None:
        name = props.get("StateMachineName") or self._physical(stack, logical, 80)
        definition = props["DefinitionString"]
        if not isinstance(definition, str):
            definition = json.dumps(definition)
        # moto's ASL grammar takes the percentage only as a decimal number ("100" is an integer token there)
        definition = re.sub(r'("ToleratedFailurePercentage":\s*)(\d+)([,}])', r"\g<1>\g<2>.0\g<3>", definition)
        role = props.get("RoleArn") or ROLE_ARN.format(account=self.account)  # its tasks run as this role
        arn = self.client("stepfunctions").create_state_machine(name=name, definition=definition, roleArn=role)[
            "stateMachineArn"
        ]
        self._ref(stack, logical, arn, Name=name, Arn=arn)

    def _rule(self, stack: Stack, logical: str, props: dict[str, Any]) -> None:
        name = props.get("Name") or self._physical(stack, logical, 64)
        events = self.client("events")
        if "EventPattern" not in props:
            # A schedule: recorded, not fired (the embedded AWS has no clock-driven events; start runs with the CLI).
            arn = events.put_rule(
                Name=name, ScheduleExpression=props["ScheduleExpression"], State=props.get("State", "ENABLED")
            )["RuleArn"]
            self._ref(stack, logical, name, Arn=arn)
            return
        pattern = props["EventPattern"]
        arn = events.put_rule(Name=name, EventPattern=json.dumps(pattern), State=props.get("State", "ENABLED"))[
            "RuleArn"
        ]
        # moto matches the pattern; matched events land in the tap queue, the pump delivers them to the
        # rule's real targets (moto's EventBridge cannot deliver to Step Functions or Lambda).
        events.put_targets(Rule=name, Targets=[{"Id": "sagelane-local-tap", "Arn": self._tap_queue_arn()}])
        self.rules.append(Rule(stack=stack.name, name=name, pattern=pattern, targets=props.get("Targets", []), arn=arn))
        self._ref(stack, logical, name, Arn=arn)

    def _glue_job(self, stack: Stack, logical: str, props: dict[str, Any]) -> None:
        name = props.get("Name") or self._physical(stack, logical, 255)
        optional = {
            k: props[k] for k in ("DefaultArguments", "GlueVersion", "WorkerType", "NumberOfWorkers") if k in props
        }
        package = optional.get("DefaultArguments", {}).get("--extra-py-files")
        if package and (staged := self._asset_source(stack, package)) is not None:
            # Glue reads the contracts from the package zip; the local run reads the staged folder.
            contracts = staged / "sagelane" / PACKAGED_CONTRACTS
            optional["DefaultArguments"] = {**optional["DefaultArguments"], CONTRACTS_ARGUMENT: str(contracts)}
        self.client("glue").create_job(Name=name, Role=props["Role"], Command=props["Command"], **optional)
        self._ref(stack, logical, name)

    def _asset_source(self, stack: Stack, uri: str) -> Path | None:
        """The cloud assembly's staged source of the file asset published at ``uri``."""
        key = uri.rsplit("/", 1)[-1]
        manifest = stack.outdir / f"{stack.name}.assets.json"
        for asset in json.loads(manifest.read_text()).get("files", {}).values():
            if any(d["objectKey"] == key for d in asset["destinations"].values()):
                return stack.outdir / asset["source"]["path"]
        return None

    def _alarm(self, stack: Stack, logical: str, props: dict[str, Any]) -> None:
        name = props.get("AlarmName") or self._physical(stack, logical, 255)
        fields = (
            "AlarmDescription",
            "ActionsEnabled",
            "AlarmActions",
            "OKActions",
            "MetricName",
            "Namespace",
            "Statistic",
            "ExtendedStatistic",
            "Dimensions",
            "Period",
            "EvaluationPeriods",
            "DatapointsToAlarm",
            "Threshold",
            "ComparisonOperator",
            "TreatMissingData",
            "Metrics",
        )
        self.client("cloudwatch").put_metric_alarm(AlarmName=name, **{k: props[k] for k in fields if k in props})
        self._ref(stack, logical, name, Arn=self._arn("cloudwatch", f"alarm:{name}"))

    def _model_package_group(self, stack: Stack, logical: str, props: dict[str, Any]) -> None:
        name = props["ModelPackageGroupName"]
        arn = self.client("sagemaker").create_model_package_group(
            ModelPackageGroupName=name,
            ModelPackageGroupDescription=props.get("ModelPackageGroupDescription", name),
        )["ModelPackageGroupArn"]
        self._ref(stack, logical, arn, ModelPackageGroupArn=arn)

    def _tap_queue_arn(self) -> str:
        if self.events_tap_queue_url is None:
            self.events_tap_queue_url = self.client("sqs").create_queue(QueueName="sagelane-local-events-tap")[
                "QueueUrl"
            ]
        return self._arn("sqs", "sagelane-local-events-tap")
