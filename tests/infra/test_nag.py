"""cdk-nag (AwsSolutions) must report nothing unacknowledged, and every acknowledgement is one finding."""

from __future__ import annotations

import json

import pytest
from aws_cdk import aws_s3 as s3

from stacks.constructs.nag import acknowledge
from tests.synth import cdk_context


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_synth_has_no_unacknowledged_finding(env, request):
    # synth raises ValidationFailed on any finding; the fixture got this far, and the report is empty
    synth = request.getfixturevalue(env)
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    violations = [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])]
    assert violations == []


def test_the_nag_plugin_really_runs_in_the_app(root, project, tmp_path):
    from stacks.app import build_app

    # given the real app with one careless bucket added
    app = build_app(project, outdir=str(tmp_path), context=cdk_context(root))
    lake = next(c for c in app.node.children if getattr(c, "stack_name", "").endswith("DataLake"))
    s3.Bucket(lake, "Careless")
    # when synthesized, then cdk-nag fails the synth and names the findings
    with pytest.raises(RuntimeError, match="ValidationFailed") as error:
        app.synth()
    assert "SageLane-dev-DataLake/Careless/Resource" in str(error.value)
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for plugin in report["pluginReports"] for v in plugin["violations"]}
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= rules


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_acknowledgement_names_one_finding_and_gives_a_reason(env, request):
    synth = request.getfixturevalue(env)
    acknowledged = {}
    for metadata in synth.outdir.glob("*.metadata.json"):
        for path, entries in json.loads(metadata.read_text()).items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    for rule, reason in entry["data"].items():
                        acknowledged[(path, rule)] = reason
    assert len(acknowledged) >= 10
    for (path, rule), reason in acknowledged.items():
        assert rule.startswith("Annotation::AwsSolutions-"), (path, rule)
        if "IAM5" in rule:
            assert "[" in rule, f"{path}: {rule} acknowledges every IAM5 finding at once"
        assert len(reason) >= 40, f"{path}: {rule}: reason too thin: {reason!r}"
    # acknowledgements sit on the construct they are about, never on a stack or the app
    assert all(path.count("/") >= 2 for path, _ in acknowledged)


def test_a_bare_iam5_acknowledgement_is_refused():
    with pytest.raises(ValueError, match="acknowledge one IAM5 finding"):
        acknowledge(None, "AwsSolutions-IAM5", "a long enough reason for the test")  # type: ignore[arg-type]


def test_an_acknowledgement_without_a_reason_is_refused():
    with pytest.raises(ValueError, match="must explain"):
        acknowledge(None, "AwsSolutions-S1", "because")  # type: ignore[arg-type]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_only_actions_without_resource_level_permissions_are_granted_on_star(env, request):
    """The Service Authorization Reference says which actions take a resource: none of those is granted on
    "*" (least privilege), and the ones that take none are granted nowhere else (AWS authorizes them on "*",
    so a grant scoped to an ARN would be denied on the first call)."""
    from sagelane.local.actions import requires_resource

    synth = request.getfixturevalue(env)
    too_broad, never_matching = [], []
    for stack, template in synth.templates.items():
        for logical, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
            if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                documents.append(props["PolicyDocument"])
            for statement in (s for d in documents for s in d["Statement"] if s["Effect"] == "Allow"):
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                for action in actions:
                    needs = requires_resource(action)
                    if "*" in resources and needs:
                        too_broad.append(f"{stack}/{logical}: {action}")
                    if "*" not in resources and needs is False and _has_no_resource_types(action):
                        never_matching.append(f"{stack}/{logical}: {action} on {resources}")
    assert too_broad == []
    assert never_matching == []


def _has_no_resource_types(action: str) -> bool:
    from sagelane.local.actions import service

    prefix, _, name = action.partition(":")
    found = (service(prefix) or {}).get("privileges", {}).get(name)
    return found is not None and not any(kind for kind in found["resource_types"])
