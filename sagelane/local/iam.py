"""IAM in the embedded AWS: every call made as the principal that makes it on AWS, and authorized as AWS would.

moto checks no policy of its own accord, so a role missing a statement ran green offline and failed on its
first real deployment. Here the ``Authority`` reads, from the cloud assembly as provisioned, every
identity policy (a role's inline policies, ``AWS::IAM::Policy``, customer and AWS managed policies) and
every resource policy (bucket, topic, queue and KMS key policies), and which key encrypts which table,
topic and queue. Each role gets credentials of its own — an access key that names it — which the
embedded AWS hands to whatever runs as that role: the Lambda handlers (in their environment, as the
Lambda runtime does), the Step Functions tasks of a state machine (its ``RoleArn``), and alarm actions
run as ``cloudwatch.amazonaws.com``. A request signed with any other key is the operator's: full access.

Each request moto serves is then authorized (``sagelane.local.gate``) the way AWS evaluates policies —
explicit deny first, then the resource policy (which must admit the caller for KMS keys), then the
identity policies — by principalmapper's local policy simulation, with the implicit KMS permissions
AWS adds: ``kms:Decrypt`` for a table encrypted with a customer managed key, ``kms:GenerateDataKey*``
and ``kms:Decrypt`` to publish to an encrypted topic or send to an encrypted queue. A denial answers
with the service's access-denied error, naming principal, action and resource, as AWS does.

What is enforced, per service, is listed in ``ENFORCED``; a request of another service or operation is
served as before and counted in ``Authority.unchecked`` (docs/embedded-aws.md, fidelity table).
"""

from __future__ import annotations

import collections
import collections.abc
import functools
import hashlib
import json
import logging
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sagelane.identity import HOLDER_PATH
from sagelane.local import actions
from sagelane.local.patches import patch

log = logging.getLogger("sagelane.local")

# principalmapper 1.1.5 imports Mapping from collections (removed in Python 3.10): give it the aliases
_COMPAT = [
    patch(
        collections,
        name,
        getattr(collections.abc, name),
        lacks="principalmapper 1.1.5 imports collections.Mapping, gone since Python 3.10",
        aws="(compatibility alias for the policy evaluator, not AWS behaviour)",
    )
    for name in ("Mapping", "MutableMapping")
]

SECRET = "sagelane-local-role-secret"


def access_key_for(arn: str) -> str:
    """A role's (or service principal's) access key: 20 characters as AWS's, derived from its ARN."""
    digest = hashlib.sha256(arn.encode()).hexdigest().upper()
    return "ASIA" + "".join(c for c in digest if c.isalnum())[:16]


@dataclass
class Principal:
    arn: str  # a role ARN, or a service principal ("cloudwatch.amazonaws.com")
    policies: list[dict[str, Any]] = field(default_factory=list)  # identity policy documents
    trust: dict[str, Any] | None = None  # a role's trust policy (AssumeRolePolicyDocument)
    used: Counter[str] = field(default_factory=Counter)  # action → calls authorized

    @property
    def service(self) -> bool:
        return not self.arn.startswith("arn:")

    @property
    def access_key(self) -> str:
        return access_key_for(self.arn)

    def credentials(self) -> dict[str, str]:
        """The environment a process running as this principal gets (as the Lambda runtime sets it)."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_SESSION_TOKEN": f"sagelane-local-session-{self.access_key}",
        }


@dataclass
class Denial:
    principal: str
    action: str
    resource: str
    reason: str

    def message(self) -> str:
        return (
            f"User: {self.principal} is not authorized to perform: {self.action} on resource: {self.resource} "
            f"because {self.reason}"
        )


Check = tuple[str, str]  # (IAM action, resource ARN)


@dataclass
class Request:
    """What one request is authorized on."""

    checks: list[Check]
    context: dict[str, str] = field(default_factory=dict)  # its request condition keys
    # what the service validates the caller may do before acting (Application Auto Scaling): a denial
    # there is the service's ValidationException, not an access denial of the request itself
    validation: list[Check] = field(default_factory=list)


class Authority:
    """The principals and policies of a provisioned assembly, and the decisions made with them."""

    def __init__(self, *, account: str, region: str) -> None:
        self.account = account
        self.region = region
        self.principals: dict[str, Principal] = {}  # by ARN
        self._by_key: dict[str, Principal] = {}
        self.resource_policies: dict[str, list[dict[str, Any]]] = defaultdict(list)  # resource ARN → documents
        self.encrypted_by: dict[str, str] = {}  # table / topic / queue ARN → KMS key ARN
        self.key_arns: dict[str, str] = {}  # key id → key ARN
        self.managed_documents: dict[str, dict[str, Any]] = {}  # customer managed policy (its Ref) → document
        self.managed_attachments: dict[str, list[Principal]] = defaultdict(list)
        self.unchecked: Counter[str] = Counter()  # "service:Operation" served without authorization
        self.denials: list[Denial] = []
        self._decisions: dict[tuple[Any, ...], bool] = {}
        self._lock = threading.Lock()
        for entry in _COMPAT:
            entry.apply()
        from principalmapper.querying import local_policy_simulation, query_interface

        self._simulation = local_policy_simulation
        self._query = query_interface

    # --- principals --------------------------------------------------------------------------------

    def principal(self, arn: str) -> Principal:
        with self._lock:
            if arn not in self.principals:
                found = self.principals[arn] = Principal(arn)
                self._by_key[found.access_key] = found
            return self.principals[arn]

    def for_access_key(self, key: str | None) -> Principal | None:
        return self._by_key.get(key or "")

    def credentials(self, arn: str) -> dict[str, str]:
        return self.principal(arn).credentials()

    # --- what the assembly declares -----------------------------------------------------------------

    def load(self, resources: Iterable[tuple[str, dict[str, Any]]], resolve: Callable[[Any], Any]) -> None:
        """Read the IAM side of one stack's resources: ``(logical id, resource)`` pairs, ``resolve``
        resolving intrinsics (every resource of the stack is provisioned by then)."""
        roles: dict[str, str] = {}  # a role's Ref → its ARN
        items = list(resources)
        for logical, resource in items:
            if resource["Type"] == "AWS::IAM::Role":
                arn = resolve({"Fn::GetAtt": [logical, "Arn"]})
                roles[resolve({"Ref": logical})] = arn
                props = resolve(resource.get("Properties", {}))
                principal = self.principal(arn)
                principal.policies += [p["PolicyDocument"] for p in props.get("Policies", [])]
                principal.trust = props.get("AssumeRolePolicyDocument")
                for managed in props.get("ManagedPolicyArns", []):
                    self._attach_managed(principal, managed)
        for logical, resource in items:
            kind = resource["Type"]
            if kind not in _LOADERS:
                continue
            try:
                props = resolve(resource.get("Properties", {}))
            except Exception as error:
                log.warning("IAM: cannot read %s (%s): %s", logical, kind, error)
                continue
            _LOADERS[kind](self, logical, props, roles, resolve)

    def attach(self, principal_arn: str, policy_arn: str) -> dict[str, str]:
        """``principal_arn`` (a person's role, say) holding the managed policy ``policy_arn`` of the assembly
        — the kit's approver or invoke policy — and nothing else: the credentials to act as it."""
        if policy_arn not in self.managed_documents and not policy_arn.startswith("arn:aws:iam::aws:policy/"):
            known = ", ".join(sorted(self.managed_documents)) or "none"
            raise KeyError(f"{policy_arn}: not a managed policy of the assembly (known: {known})")
        principal = self.principal(principal_arn)
        self._attach_managed(principal, policy_arn)
        return principal.credentials()

    def assume(self, caller: Principal | None, role_arn: str) -> Denial | None:
        """STS's decision on ``caller`` (None: the operator, full access) assuming ``role_arn``: the role must
        exist and its trust policy admit the caller — naming it, or naming the account (then the caller's
        own policies must allow sts:AssumeRole on it). Conditions of the trust policy are not evaluated."""
        caller_arn = caller.arn if caller is not None else f"arn:aws:iam::{self.account}:user/operator"
        self._holder(role_arn)
        role = self.principals.get(role_arn)

        def denied(reason: str) -> Denial:
            denial = Denial(caller_arn, "sts:AssumeRole", role_arn, reason)
            self.denials.append(denial)
            return denial

        holders = f"arn:aws:iam::{self.account}:role/{HOLDER_PATH}/"
        if role is None and role_arn.startswith(holders):
            known = sorted(arn.rsplit("/", 1)[-1] for arn in self.managed_documents)
            name = role_arn.removeprefix(holders)
            return denied(f"no managed policy of the assembly is named {name} (known: {', '.join(known) or 'none'})")
        if role is None or role.service:
            return denied("no role of the assembly has that ARN")
        if not role.trust:
            return denied("the role has no trust policy")
        from principalmapper.common import Node

        is_role = ":role/" in caller_arn
        empty = {"Version": "2012-10-17", "Statement": []} if is_role else None
        ident = ("AROA" if is_role else "AIDA") + access_key_for(caller_arn)[4:]
        node = Node(caller_arn, ident, [], [], empty, None, 0, False, False, None, False, {})
        verdict = self._trust(node, role, {})
        results = self._simulation.ResourcePolicyEvalResult
        if verdict == results.NODE_MATCH:
            return None
        if verdict == results.ROOT_MATCH and (caller is None or self.allowed(caller, "sts:AssumeRole", role_arn)):
            return None
        return denied("the role's trust policy does not allow it")

    def service_assumes(self, service: str, role_arn: str, *, source: str) -> Denial | None:
        """A service (EventBridge for a rule's target) assuming ``role_arn`` for the resource ``source``: the
        role's trust policy must name the service (its aws:SourceArn / aws:SourceAccount conditions hold)."""
        role = self.principals.get(role_arn)
        reason = None
        if not role_arn:
            reason = "no role is given (the target has no RoleArn)"
        elif role is None or role.service or not role.trust:
            reason = "no role of the assembly with a trust policy has that ARN"
        elif (
            self._trust(service, role, {"aws:SourceArn": source})
            != self._simulation.ResourcePolicyEvalResult.SERVICE_MATCH
        ):
            reason = "the role's trust policy does not allow it"
        if reason is None:
            return None
        denial = Denial(service, "sts:AssumeRole", role_arn or "(none)", reason)
        self.denials.append(denial)
        log.info("denied: %s", denial.message())
        return denial

    def service_invokes(self, service: str, action: str, resource: str, *, source: str) -> Denial | None:
        """A service (EventBridge, for the rule ``source``) calling ``action`` on ``resource`` with no role:
        what the resource policy (a function's permissions) allows."""
        principal = self.principal(service)
        if self.allowed(principal, action, resource, {"aws:SourceArn": source}):
            principal.used[action] += 1
            return None
        denial = Denial(service, action, resource, self._reason(principal, action, resource))
        self.denials.append(denial)
        log.info("denied: %s", denial.message())
        return denial

    def _trust(self, who: Any, role: Principal, context: dict[str, str]) -> Any:
        """principalmapper's verdict on ``who`` (a Node, or a service principal's name) under ``role``'s
        trust policy, with the context keys AWS sets for a service acting for this account."""
        assert role.trust is not None
        return self._simulation.resource_policy_authorization(
            who,
            self.account,
            _normalized(role.trust),
            "sts:AssumeRole",
            role.arn,
            {"aws:SourceAccount": self.account, **context} if isinstance(who, str) else context,
        )

    def _holder(self, role_arn: str) -> None:
        """Create, on first use, the embedded AWS's role ``role/sagelane-local/<policy name>``: it holds only
        that managed policy of the assembly and trusts the account (what ``sagelane --policy`` assumes)."""
        prefix = f"arn:aws:iam::{self.account}:role/{HOLDER_PATH}/"
        policy = f"arn:aws:iam::{self.account}:policy/{role_arn.removeprefix(prefix)}"
        if not role_arn.startswith(prefix) or role_arn in self.principals or policy not in self.managed_documents:
            return
        self.attach(role_arn, policy)
        self.principals[role_arn].trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{self.account}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }

    def add_session(self, access_key: str, role_arn: str) -> None:
        """Requests signed with ``access_key`` (from AssumeRole) are the role's."""
        with self._lock:
            self._by_key[access_key] = self.principals[role_arn]

    def _attach_managed(self, principal: Principal, arn: str) -> None:
        self.managed_attachments[arn].append(principal)
        if arn.startswith("arn:aws:iam::aws:policy/"):
            principal.policies.append(_aws_managed(arn))
        elif arn in self.managed_documents:  # a managed policy of an earlier stack
            principal.policies.append(self.managed_documents[arn])

    # --- evidence ----------------------------------------------------------------------------------

    def usage(self) -> list[dict[str, Any]]:
        """Per role of the assembly: the actions its calls were authorized for (with counts) and the actions
        its identity policies allow (as written: wildcards stay wildcards) — the IAM policy stream of a run."""
        out = []
        for principal in sorted(self.principals.values(), key=lambda p: p.arn):
            granted = sorted(
                {
                    action
                    for document in principal.policies
                    for statement in _statements(document)
                    if statement.get("Effect") == "Allow"
                    for action in _as_list(statement.get("Action", []))
                }
            )
            if granted or principal.used:
                out.append({"principal": principal.arn, "used": dict(principal.used), "granted": granted})
        return out

    # --- decisions ---------------------------------------------------------------------------------

    def allowed(self, principal: Principal, action: str, resource: str, context: dict[str, str] | None = None) -> bool:
        key = (principal.arn, len(principal.policies), action, resource, tuple(sorted((context or {}).items())))
        cached = self._decisions.get(key)
        if cached is not None:
            return cached
        decision = self._evaluate(principal, action, resource, context or {})
        self._decisions[key] = decision
        return decision

    def _evaluate(self, principal: Principal, action: str, resource: str, context: dict[str, str]) -> bool:
        policies = self.resource_policies.get(resource) or self.resource_policies.get(_parent(resource))
        resource_policy = _normalized(_merge(policies)) if policies else None
        if principal.service:
            if resource_policy is None:
                return False
            # a service acting for this account (alarm actions): the confused-deputy keys AWS sets
            service_context = {"aws:SourceAccount": self.account, **context}
            result = self._simulation.resource_policy_authorization(
                principal.arn, self.account, resource_policy, action, resource, service_context
            )
            return result == self._simulation.ResourcePolicyEvalResult.SERVICE_MATCH
        if resource.startswith("arn:aws:kms:") and resource_policy is None:
            return False  # a key without a key policy admits no one
        from principalmapper.common import Node, Policy

        node = Node(
            principal.arn,
            "AROA" + principal.access_key[4:],
            [Policy(principal.arn, f"policy-{i}", _normalized(doc)) for i, doc in enumerate(principal.policies)],
            [],
            {"Version": "2012-10-17", "Statement": []},
            None,
            0,
            False,
            False,
            None,
            False,
            {},
        )
        return bool(
            self._query.local_check_authorization_full(
                node,
                action,
                resource,
                dict(context),
                resource_policy,
                self.account if resource_policy is not None else None,
            )
        )

    def authorize(
        self, principal: Principal, checks: list[Check], context: dict[str, str] | None = None
    ) -> Denial | None:
        """The first check ``principal`` fails, or None (then every action counts as used)."""
        for action, resource in checks:
            if principal.service and not resource.startswith("arn:aws:kms:"):
                continue  # a service principal's own call: only the key policy is checked (see docs)
            if not self.allowed(principal, action, resource, context):
                denial = Denial(principal.arn, action, resource, self._reason(principal, action, resource))
                self.denials.append(denial)
                log.info("denied: %s", denial.message())
                return denial
        for action, _ in checks:
            principal.used[action] += 1
        return None

    def _reason(self, principal: Principal, action: str, resource: str) -> str:
        if principal.service:
            return f"the resource policy of {resource} does not allow {principal.arn} to perform {action}"
        if resource.startswith("arn:aws:kms:"):
            return f"no identity-based policy allows the {action} action (or the key policy does not)"
        if self.resource_policies.get(resource) or self.resource_policies.get(_parent(resource)):
            return f"no identity-based policy allows the {action} action, or a resource-based policy denies it"
        return f"no identity-based policy allows the {action} action"

    # --- requests ----------------------------------------------------------------------------------

    def request(self, service: str, operation: str, params: dict[str, Any]) -> Request | None:
        """What AWS authorizes for this request — its own action and resources, the roles it passes, what
        the service checks on the caller's behalf, the implicit KMS — or None: not enforced here."""
        if (service, operation) in _NEVER_DENIED:
            return Request([])
        build = ENFORCED.get(service)
        if build is not None:
            found = build(self, operation, params)
            if found is None:
                return None
            return Request(found + self._implicit_kms(service, operation, found))
        resolved = actions.resolve(service, operation, params, region=self.region, account=self.account)
        if resolved is None:
            return None
        checks = [(resolved.action, resource) for resource in resolved.resources]
        checks += [("iam:PassRole", role) for role in resolved.passed_roles]
        implied = _IMPLIED.get((service, operation))
        if implied is not None:
            checks += implied(self, params)
        validation = _VALIDATED.get((service, operation))
        return Request(checks, resolved.context, validation(self, params) if validation else [])

    def checks(self, service: str, operation: str, params: dict[str, Any]) -> list[Check] | None:
        found = self.request(service, operation, params)
        return None if found is None else found.checks + found.validation

    def s3_checks(self, action: str, method: str, bucket: str, key: str | None, copy_source: str | None) -> list[Check]:
        """What S3 authorizes for a request moto maps to ``action`` (``PutObject``, ``ListBucket``...), with
        the KMS use of SSE-KMS objects (the bucket's default key): writing needs ``kms:GenerateDataKey``,
        reading ``kms:Decrypt``; a copy also reads its source."""
        bucket_arn = f"arn:aws:s3:::{bucket}"
        target = f"{bucket_arn}/{key}" if key else bucket_arn
        checks: list[Check] = [(f"s3:{action}", target)]
        reads = action in ("GetObject", "GetObjectVersion") and method != "HEAD"
        if copy_source:
            source = copy_source.lstrip("/").split("?", 1)[0]
            source_bucket = source.split("/", 1)[0]
            checks.append(("s3:GetObject", f"arn:aws:s3:::{source}"))
            source_key = self.encrypted_by.get(f"arn:aws:s3:::{source_bucket}")
            if source_key:
                checks.append(("kms:Decrypt", source_key))
        bucket_key = self.encrypted_by.get(bucket_arn)
        if bucket_key and key:
            if action == "PutObject":
                checks.append(("kms:GenerateDataKey", bucket_key))
            elif reads:
                checks.append(("kms:Decrypt", bucket_key))
        return checks

    def _implicit_kms(self, service: str, operation: str, checks: list[Check]) -> list[Check]:
        actions = _KMS_FOR.get((service, operation))
        if not actions:
            return []
        extra: list[Check] = []
        for _, resource in checks:
            key = self.encrypted_by.get(resource)
            if key:
                extra += [(action, key) for action in actions]
        return extra

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    def key_arn(self, key: str) -> str:
        if key.startswith("arn:"):
            return key
        return self.key_arns.get(key, self.arn("kms", f"key/{key}"))


# --- loading ---------------------------------------------------------------------------------------


def _policy(authority: Authority, logical: str, props: dict, roles: dict, resolve: Callable) -> None:
    for ref in props.get("Roles", []):
        arn = roles.get(ref) or _role_arn(authority, ref)
        authority.principal(arn).policies.append(props["PolicyDocument"])


def _managed_policy(authority: Authority, logical: str, props: dict, roles: dict, resolve: Callable) -> None:
    _policy(authority, logical, props, roles, resolve)
    ref = resolve({"Ref": logical})
    authority.managed_documents[ref] = props["PolicyDocument"]
    for principal in authority.managed_attachments.get(ref, []):
        principal.policies.append(props["PolicyDocument"])


def _role_arn(authority: Authority, name: str) -> str:
    return name if name.startswith("arn:") else f"arn:aws:iam::{authority.account}:role/{name}"


def _bucket_policy(authority: Authority, logical: str, props: dict, roles: dict, resolve: Callable) -> None:
    authority.resource_policies[f"arn:aws:s3:::{props['Bucket']}"].append(props["PolicyDocument"])


def _topic_policy(authority: Authority, logical: str, props: dict, roles: dict, resolve: Callable) -> None:
    for topic in props.get("Topics", []):
        authority.resource_policies[topic].append(props["PolicyDocument"])


def _queue_policy(authority: Authority, logical: str, props: dict, roles: dict, resolve: Callable) -> None:
    for url in props.get("Queues", []):
        authority.resource_policies[_queue_arn(authority, url)].append(props["PolicyDocument"])


def _lambda_permission(authority: Authority, logical: str, props: dict, roles: dict, resolve: Callable) -> None:
    """A function's resource policy statement (``AWS::Lambda::Permission``): who may invoke it, from where."""
    function = str(props["FunctionName"])
    if not function.startswith("arn:"):
        function = f"arn:aws:lambda:{authority.region}:{authority.account}:function:{function}"
    grantee = str(props["Principal"])
    who = {"Service": grantee} if grantee.endswith(".amazonaws.com") else {"AWS": grantee}
    conditions: dict[str, dict[str, str]] = {}
    if props.get("SourceArn"):
        conditions["ArnLike"] = {"aws:SourceArn": props["SourceArn"]}
    if props.get("SourceAccount"):
        conditions["StringEquals"] = {"aws:SourceAccount": props["SourceAccount"]}
    statement = {"Effect": "Allow", "Principal": who, "Action": props["Action"], "Resource": function}
    if conditions:
        statement["Condition"] = conditions
    authority.resource_policies[function].append({"Version": "2012-10-17", "Statement": [statement]})


def _key(authority: Authority, logical: str, props: dict, roles: dict, resolve: Callable) -> None:
    arn = resolve({"Fn::GetAtt": [logical, "Arn"]})
    authority.key_arns[resolve({"Ref": logical})] = arn
    if "KeyPolicy" in props:
        authority.resource_policies[arn].append(props["KeyPolicy"])


def _bucket(authority: Authority, logical: str, props: dict, roles: dict, resolve: Callable) -> None:
    rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
    for rule in rules:
        default = rule.get("ServerSideEncryptionByDefault", {})
        if default.get("SSEAlgorithm") == "aws:kms" and default.get("KMSMasterKeyID"):
            name = resolve({"Ref": logical})
            authority.encrypted_by[f"arn:aws:s3:::{name}"] = authority.key_arn(str(default["KMSMasterKeyID"]))


def _encrypted(attribute: str, key_path: tuple[str, ...]) -> Callable:
    def load(authority: Authority, logical: str, props: dict, roles: dict, resolve: Callable) -> None:
        value: Any = props
        for part in key_path:
            value = value.get(part) if isinstance(value, dict) else None
        if value:
            authority.encrypted_by[resolve({"Fn::GetAtt": [logical, attribute]})] = authority.key_arn(str(value))

    return load


_LOADERS: dict[str, Callable[..., None]] = {
    "AWS::IAM::Policy": _policy,
    "AWS::IAM::ManagedPolicy": _managed_policy,
    "AWS::S3::BucketPolicy": _bucket_policy,
    "AWS::SNS::TopicPolicy": _topic_policy,
    "AWS::SQS::QueuePolicy": _queue_policy,
    "AWS::KMS::Key": _key,
    "AWS::Lambda::Permission": _lambda_permission,
    "AWS::S3::Bucket": _bucket,
    "AWS::DynamoDB::Table": _encrypted("Arn", ("SSESpecification", "KMSMasterKeyId")),
    "AWS::SNS::Topic": _encrypted("TopicArn", ("KmsMasterKeyId",)),
    "AWS::SQS::Queue": _encrypted("Arn", ("KmsMasterKeyId",)),
}


@functools.cache
def _aws_managed_policies() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)  # ~0.1 s: once per process


def _aws_managed(arn: str) -> dict[str, Any]:
    name = arn.rsplit("/", 1)[-1]
    data = _aws_managed_policies()
    if name not in data:
        log.warning("IAM: AWS managed policy %s is unknown locally: it grants nothing here", arn)
        return {"Version": "2012-10-17", "Statement": []}
    return data[name]["Document"]


def _merge(documents: list[dict[str, Any]]) -> dict[str, Any]:
    statements: list[Any] = []
    for document in documents:
        found = document.get("Statement", [])
        statements += found if isinstance(found, list) else [found]
    return {"Version": "2012-10-17", "Statement": statements}


def _condition_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [_condition_text(v) for v in value]
    return value if isinstance(value, str) else str(value)


def _normalized(document: dict[str, Any]) -> dict[str, Any]:
    """A policy as IAM stores it: condition values as text (a template may write ``1.2`` or ``true``)."""
    found = document.get("Statement", [])
    statements = []
    for statement in found if isinstance(found, list) else [found]:
        condition = statement.get("Condition")
        if condition:
            statement = {
                **statement,
                "Condition": {
                    op: {key: _condition_text(value) for key, value in block.items()} for op, block in condition.items()
                },
            }
        statements.append(statement)
    return {**document, "Statement": statements}


def _parent(resource: str) -> str:
    # an S3 object's policies are its bucket's
    if resource.startswith("arn:aws:s3:::") and "/" in resource:
        return resource.split("/", 1)[0]
    return resource


def _queue_arn(authority: Authority, url: str) -> str:
    return authority.arn("sqs", url.rstrip("/").rsplit("/", 1)[-1])


# --- requests → (action, resource) -----------------------------------------------------------------


def _dynamodb(authority: Authority, operation: str, params: dict[str, Any]) -> list[Check] | None:
    table = params.get("TableName")
    if operation in ("BatchGetItem", "BatchWriteItem"):
        tables = list(params.get("RequestItems", {}))
        return [(f"dynamodb:{operation}", _table_arn(authority, t)) for t in tables]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        out = []
        for item in params.get("TransactItems", []):
            for kind, body in item.items():
                action = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "Get": "GetItem"}.get(
                    kind, "ConditionCheckItem"
                )
                out.append((f"dynamodb:{action}", _table_arn(authority, body["TableName"])))
        return out
    if not table:
        return [(f"dynamodb:{operation}", "*")]
    return [(f"dynamodb:{operation}", _table_arn(authority, table))]


def _table_arn(authority: Authority, table: str) -> str:
    return table if table.startswith("arn:") else authority.arn("dynamodb", f"table/{table}")


def _sns(authority: Authority, operation: str, params: dict[str, Any]) -> list[Check] | None:
    topic = params.get("TopicArn") or params.get("TargetArn")
    if operation == "Publish" and topic:
        return [("sns:Publish", topic)]
    if topic:
        return [(f"sns:{operation}", topic)]
    return None


def _sqs(authority: Authority, operation: str, params: dict[str, Any]) -> list[Check] | None:
    url = params.get("QueueUrl")
    if not url:
        return None
    action = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage"}.get(operation, operation)
    return [(f"sqs:{action}", _queue_arn(authority, url))]


def _states(authority: Authority, operation: str, params: dict[str, Any]) -> list[Check] | None:
    target = params.get("stateMachineArn") or params.get("executionArn")
    if target:
        return [(f"states:{operation}", target)]
    if operation.startswith("List"):
        return [(f"states:{operation}", "*")]
    return None


ENFORCED: dict[str, Callable[[Authority, str, dict[str, Any]], list[Check] | None]] = {
    "dynamodb": _dynamodb,
    "sns": _sns,
    "sqs": _sqs,
    "stepfunctions": _states,
    # every other service: the Service Authorization Reference's tables (sagelane.local.actions.resolve)
}

# The KMS permissions AWS checks on the caller, on the key of the resource, besides the call's own
_DYNAMODB_READS = ("GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems")
_DYNAMODB_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
_KMS_FOR: dict[tuple[str, str], list[str]] = {
    **{("dynamodb", operation): ["kms:Decrypt"] for operation in _DYNAMODB_READS},
    **{("dynamodb", operation): ["kms:Decrypt", "kms:GenerateDataKey"] for operation in _DYNAMODB_WRITES},
    ("sns", "Publish"): ["kms:GenerateDataKey", "kms:Decrypt"],
    ("sqs", "SendMessage"): ["kms:GenerateDataKey"],
    ("sqs", "SendMessageBatch"): ["kms:GenerateDataKey"],
    ("sqs", "ReceiveMessage"): ["kms:Decrypt"],
}


# Calls AWS never denies (sts:GetCallerIdentity needs no permission)
_NEVER_DENIED = {("sts", "GetCallerIdentity")}


def _rollback_alarms(authority: Authority, params: dict[str, Any]) -> list[Check]:
    """SageMaker reads an update's rollback alarms as its caller: cloudwatch:DescribeAlarms on each
    (CreateEndpoint / UpdateEndpoint with DeploymentConfig.AutoRollbackConfiguration)."""
    config = (params.get("DeploymentConfig") or {}).get("AutoRollbackConfiguration") or {}
    return [
        ("cloudwatch:DescribeAlarms", authority.arn("cloudwatch", f"alarm:{alarm['AlarmName']}"))
        for alarm in config.get("Alarms", [])
        if alarm.get("AlarmName")
    ]


def _endpoint_key(authority: Authority, params: dict[str, Any]) -> list[Check]:
    """CreateEndpointConfig with a KmsKeyId: SageMaker creates a grant on the key as its caller."""
    key = params.get("KmsKeyId")
    return [("kms:CreateGrant", authority.key_arn(key))] if isinstance(key, str) and key else []


_IMPLIED: dict[tuple[str, str], Callable[[Authority, dict[str, Any]], list[Check]]] = {
    ("sagemaker", "CreateEndpoint"): _rollback_alarms,
    ("sagemaker", "UpdateEndpoint"): _rollback_alarms,
    ("sagemaker", "CreateEndpointConfig"): _endpoint_key,
}


def _autoscaling_validation(authority: Authority, params: dict[str, Any]) -> list[Check]:
    """Application Auto Scaling's permission validation for a SageMaker variant: before registering a
    target or putting a policy it checks that its caller may describe the endpoint and its config and
    update the variant's weights and capacities, and (a policy: the alarms it creates, named
    ``TargetTracking-<resource id>-…``) put, describe and delete CloudWatch alarms. Documented in the
    Application Auto Scaling guide (security_iam_permission_validation, endpoint-auto-scaling-prerequisites)."""
    if params.get("ServiceNamespace") != "sagemaker":
        return []
    resource_id = str(params.get("ResourceId", ""))
    parts = resource_id.split("/")
    if len(parts) < 2 or parts[0] != "endpoint":
        return []
    endpoint = parts[1]
    checks: list[Check] = [
        ("sagemaker:DescribeEndpoint", authority.arn("sagemaker", f"endpoint/{endpoint}")),
        ("sagemaker:UpdateEndpointWeightsAndCapacities", authority.arn("sagemaker", f"endpoint/{endpoint}")),
    ]
    config = _endpoint_config_of(authority, endpoint)
    if config:
        checks.append(("sagemaker:DescribeEndpointConfig", authority.arn("sagemaker", f"endpoint-config/{config}")))
    if "PolicyName" in params:
        alarm = authority.arn(
            "cloudwatch", f"alarm:TargetTracking-{resource_id}-AlarmHigh-{uuid.uuid5(uuid.NAMESPACE_URL, resource_id)}"
        )
        checks += [(f"cloudwatch:{action}", alarm) for action in ("PutMetricAlarm", "DescribeAlarms", "DeleteAlarms")]
    return checks


def _endpoint_config_of(authority: Authority, endpoint: str) -> str | None:
    try:
        from moto.sagemaker.models import sagemaker_backends

        return sagemaker_backends[authority.account][authority.region].endpoints[endpoint].endpoint_config_name
    except (KeyError, AttributeError):
        return None


_VALIDATED: dict[tuple[str, str], Callable[[Authority, dict[str, Any]], list[Check]]] = {
    ("application-autoscaling", "RegisterScalableTarget"): _autoscaling_validation,
    ("application-autoscaling", "PutScalingPolicy"): _autoscaling_validation,
}


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]
