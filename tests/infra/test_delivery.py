"""The pipeline's deploy role: only the configured repository's jobs in the matching GitHub environment may
assume it, and it may only hand over to CDK's bootstrap roles and read what the doctor checks."""

from __future__ import annotations

import pytest

from sagelane.local.actions import requires_resource

READ_ONLY_PREFIXES = ("Describe", "Get", "List")


def role_and_policy(synth):
    (role,) = synth.resources("Delivery", "AWS::IAM::Role").values()
    (policy,) = synth.resources("Delivery", "AWS::IAM::Policy").values()
    return role["Properties"], policy["Properties"]["PolicyDocument"]["Statement"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_only_the_repositorys_jobs_in_the_environment_of_the_same_name_assume_the_role(env, request):
    synth = request.getfixturevalue(env)
    role, _ = role_and_policy(synth)
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": f"repo:example-org/sagelane:environment:{env}",
        }
    }
    assert role["RoleName"] == f"sagelane-{env}-github-deploy"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_role_only_assumes_cdk_bootstrap_roles_and_reads(env, request):
    synth = request.getfixturevalue(env)
    _, statements = role_and_policy(synth)
    for s in statements:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        if actions == ["sts:AssumeRole"]:
            assert ":role/cdk-hnb659fds-*" in str(s["Resource"])
            continue
        for action in actions:
            assert action.split(":", 1)[1].startswith(READ_ONLY_PREFIXES), action
        resource = str(s["Resource"])
        if s["Resource"] == "*":  # only what has no resource-level permissions
            assert not any(requires_resource(action) for action in actions), actions
            continue
        assert any(
            scope in resource for scope in (f"sagelane-{env}-", f"SageLane-{env}-", f"sagelane/{env}/", ":states:")
        )


def test_dev_creates_githubs_oidc_provider_and_prod_reuses_it(dev, prod):
    (provider,) = dev.resources("Delivery", "AWS::IAM::OIDCProvider").values()
    assert provider["Properties"]["Url"] == "https://token.actions.githubusercontent.com"
    assert prod.resources("Delivery", "AWS::IAM::OIDCProvider") == {}
    role, _ = role_and_policy(prod)
    principal = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Federated"]
    assert "oidc-provider/token.actions.githubusercontent.com" in str(principal)
