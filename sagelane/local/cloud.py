"""``LocalCloud``: a provisioned cloud assembly on moto, with event delivery and in-process compute."""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from sagelane.local.assembly import load_assembly
from sagelane.local.events import transform
from sagelane.local.iam import Authority
from sagelane.local.lambdas import LocalLambda
from sagelane.local.provision import Provisioner, Rule, Summary

_SERVICE_CONFIG = Config()  # clients of the services' own calls (alarm actions, event targets): botocore's defaults

log = logging.getLogger("sagelane.local")

ACCOUNT = "123456789012"  # moto's default account
# moto settings the embedded AWS needs: Step Functions executes the real definitions.
# a JSON Lines file: each embedded AWS appends its roles' used and granted actions when it goes down
IAM_USAGE = "SAGELANE_IAM_USAGE"
CLOUDWATCH_PRINCIPAL = "cloudwatch.amazonaws.com"  # alarm actions run as CloudWatch's service principal
EVENTS_PRINCIPAL = "events.amazonaws.com"  # EventBridge: assumes the targets' roles, invokes functions
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}}


@dataclass
class Delivery:
    rule: str
    target: str
    event: dict[str, Any]  # the EventBridge event as matched
    input: dict[str, Any]  # what the target received (after the rule's input transformer)
    execution_arn: str | None
    error: str | None = None  # why the target was not invoked (EventBridge's FailedInvocations)


class LocalCloud:
    """Provision ``stacks`` (in order) from the assembly in ``outdir``; run inside ``mock_aws(config=MOTO_CONFIG)``."""

    def __init__(
        self,
        outdir: Path,
        *,
        stacks: list[str],
        region: str = "us-east-1",
        log_dir: Path | None = None,
        enforce: bool = True,
    ) -> None:
        self.outdir = outdir
        self.region = region
        self.enforce = enforce  # IAM and request validation as AWS does them (off: moto's leniency, to debug)
        self.functions = LocalLambda(log_dir=log_dir)
        self.authority = Authority(account=ACCOUNT, region=region) if enforce else None
        self.provisioner = Provisioner(
            account=ACCOUNT, region=region, functions=self.functions, authority=self.authority
        )
        assembly = load_assembly(outdir)
        self.stacks = [assembly[name] for name in stacks]
        self.deliveries: list[Delivery] = []
        self.alarm_interval = 1.0  # seconds between alarm evaluations in ``pump``
        self._alarms_evaluated = 0.0

    def up(self) -> Summary:
        from sagelane.local import endpoints, gate, sagemaker_api, sfn_services

        gate.install(self.authority)
        gate.set_enforcement(self.enforce)
        sfn_services.install()
        sagemaker_api.install()
        self.endpoints = endpoints.LocalEndpoints()
        endpoints.install(self.endpoints)
        self.functions.install()
        summary = self.provisioner.provision(self.stacks)
        from sagelane.local.alarms import LocalAlarms

        self.alarms = LocalAlarms(
            account=ACCOUNT, region=self.region, client=self.provisioner.client, actions=self._alarm_actions
        )
        for line in summary.lines():
            log.info(line)
        return summary

    def down(self) -> None:
        from sagelane.local import endpoints, gate, sagemaker_api, sfn_services

        self.endpoints.forget()  # the endpoints' containers stop: what they captured is written first
        record = os.environ.get(IAM_USAGE)
        if record and self.authority is not None:  # evidence for tools/iam_usage.py (docs/iam-usage.md)
            with open(record, "a", encoding="utf-8") as out:
                for entry in self.authority.usage():
                    out.write(json.dumps(entry) + "\n")
                if self.authority.unchecked:
                    out.write(json.dumps({"unchecked": dict(self.authority.unchecked)}) + "\n")
        endpoints.uninstall()
        gate.uninstall()
        sagemaker_api.uninstall()
        sfn_services.uninstall()
        self.functions.uninstall()

    def _alarm_actions(self) -> Any:
        """An SNS client signing as CloudWatch's service principal (the operator's where IAM is off)."""
        if self.authority is None:
            return self.provisioner.client("sns")
        from sagelane import aws

        credentials = self.authority.credentials(CLOUDWATCH_PRINCIPAL)
        return aws.client_as("sns", credentials, region=self.region, config=_SERVICE_CONFIG)

    @property
    def resolver(self):
        return self.provisioner.resolver

    def ref(self, stack: str, construct_id: str) -> str:
        """Ref of the resource of ``stack`` whose logical id is ``construct_id`` plus CDK's 8-character hash."""
        pattern = re.compile(rf"^{re.escape(construct_id)}[0-9A-F]{{8}}$")
        for key, value in self.resolver.refs.items():
            stack_name, logical = key.split("/", 1)
            if stack_name == stack and (logical == construct_id or pattern.match(logical)):
                return value
        raise KeyError(f"{stack}/{construct_id}")

    # --- event delivery ----------------------------------------------------------------------------

    def pump(self) -> list[Delivery]:
        """Every ``alarm_interval`` s write the endpoints' own capture (serverless; the container's timer
        in AWS, every minute) and evaluate the alarms; then deliver the events moto matched to the rules'
        real targets (input transformers applied)."""
        if time.monotonic() - self._alarms_evaluated >= self.alarm_interval:
            self._alarms_evaluated = time.monotonic()
            self.endpoints.flush()
            self.alarms.evaluate()
        url = self.provisioner.events_tap_queue_url
        if url is None:
            return []
        sqs = self.provisioner.client("sqs")
        delivered: list[Delivery] = []
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            for message in messages:
                delivered += self.deliver(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return delivered

    def deliver(self, event: dict[str, Any]) -> list[Delivery]:
        """Deliver one EventBridge event to the targets of every rule it matches (again, if it was before:
        EventBridge delivers at least once)."""
        delivered = [
            self._deliver(rule, target, event) for rule in self._matching_rules(event) for target in rule.targets
        ]
        self.deliveries += delivered
        return delivered

    def _matching_rules(self, event: dict[str, Any]) -> list[Rule]:
        # moto told us *that* some rule matched; find which ones with moto's own matcher.
        from moto.events.models import EventPattern

        return [r for r in self.provisioner.rules if EventPattern.load(json.dumps(r.pattern)).matches_event(event)]  # type: ignore[arg-type]

    def _deliver(self, rule: Rule, target: dict[str, Any], event: dict[str, Any]) -> Delivery:
        """Invoke one target as EventBridge does: a state machine with the target's ``RoleArn`` (which must
        trust events.amazonaws.com and may start it), a function under its resource policy (Lambda
        targets take no role). A refusal is logged and recorded: EventBridge counts it a failed invocation."""
        body = transform(event, target)
        arn = target["Arn"]
        execution = error = None
        try:
            if ":states:" in arn and ":stateMachine:" in arn:
                # EventBridge names each execution it starts (moto would name them all "None").
                execution = self._as_target(rule, target, "stepfunctions").start_execution(
                    stateMachineArn=arn, name=str(uuid.uuid4()), input=body
                )["executionArn"]
            elif ":lambda:" in arn:
                fn = self.functions.lookup(arn)
                denial = None
                if self.authority is not None:
                    denial = self.authority.service_invokes(
                        EVENTS_PRINCIPAL, "lambda:InvokeFunction", arn, source=rule.arn
                    )
                if denial:
                    error = denial.message()
                elif fn is None:
                    error = f"ResourceNotFoundException: Function not found: {arn}"
                else:
                    self.functions.invoke(fn, json.loads(body))
            else:
                log.warning("rule %s: target %s is not delivered locally", rule.name, arn)
        except ClientError as exc:
            error = f"{exc.response['Error']['Code']}: {exc.response['Error'].get('Message', '')}"
        if error is not None:
            log.warning("rule %s: target %s was not invoked: %s", rule.name, arn, error)
        log.info(
            "event %s matched rule %s → %s%s",
            event.get("id", "?")[:8],
            rule.name,
            arn.rsplit(":", 1)[-1],
            f" (run {execution.rsplit(':', 1)[-1][:8]})" if execution else "",
        )
        return Delivery(
            rule=rule.name, target=arn, event=event, input=json.loads(body), execution_arn=execution, error=error
        )

    def _as_target(self, rule: Rule, target: dict[str, Any], service: str) -> Any:
        """A client signing as the target's role, assumed by EventBridge (the operator's where IAM is off)."""
        if self.authority is None:
            return self.provisioner.client(service)
        role = str(target.get("RoleArn") or "")
        denial = self.authority.service_assumes(EVENTS_PRINCIPAL, role, source=rule.arn)
        if denial is not None:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": denial.message()}}, "AssumeRole")
        from sagelane import aws

        return aws.client_as(service, self.authority.credentials(role), region=self.region, config=_SERVICE_CONFIG)

    # --- executions --------------------------------------------------------------------------------

    def wait(self, execution_arn: str, timeout: float = 60.0) -> dict[str, Any]:
        """Wait for an execution to finish; returns its ``describe_execution``."""
        sfn = self.provisioner.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while True:
            description = sfn.describe_execution(executionArn=execution_arn)
            if description["status"] != "RUNNING":
                return description
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still running after {timeout:.0f} s")
            time.sleep(0.05)
