"""prod is stricter than dev: stacks protected from deletion, data retained, alarms page someone."""

from __future__ import annotations

import pytest


def alarms_actions(synth) -> list[list]:
    found = []
    for suffix in ("Serving", "Monitoring"):
        for alarm in synth.resources(suffix, "AWS::CloudWatch::Alarm").values():
            found.append(alarm["Properties"].get("AlarmActions", []))
    return found


def test_prod_stacks_are_termination_protected_and_dev_stacks_are_not(dev, prod):
    assert all(stack.termination_protection for stack in prod.stacks.values())
    assert not any(stack.termination_protection for stack in dev.stacks.values())


def test_prod_alarms_page_through_the_paging_topic_and_dev_has_none(dev, prod):
    (topic,) = prod.resources("DataLake", "AWS::SNS::Topic").values()
    assert topic["Properties"]["DisplayName"] == "SageLane prod paging"
    assert "KmsMasterKeyId" in topic["Properties"]
    actions = alarms_actions(prod)
    assert actions and all(len(a) == 2 and any("Paging" in str(x) for x in a) for a in actions), actions
    assert dev.resources("DataLake", "AWS::SNS::Topic") == {}
    assert all(len(a) == 1 for a in alarms_actions(dev))


def test_prod_retains_the_lake_and_its_key(prod):
    for type_ in ("AWS::S3::Bucket", "AWS::KMS::Key"):
        for resource in prod.resources("DataLake", type_).values():
            assert resource["DeletionPolicy"] == "Retain", type_


def test_an_existing_assembly_is_checked_before_it_is_served(dev, prod, tmp_path, root):
    from sagelane.errors import SageLaneError
    from sagelane.local.runtime import existing_assembly
    from tests.synth import existing

    read = existing(root, "dev", dev.outdir)
    assert read.templates == dev.templates and read.outdir == dev.outdir.resolve()
    with pytest.raises(SageLaneError, match=r"not a cloud assembly of dev: it lacks SageLane-dev-DataLake, "):
        existing_assembly(prod.outdir, "dev", root)
    with pytest.raises(SageLaneError, match=r"no manifest\.json"):
        existing_assembly(tmp_path, "dev", root)
    with pytest.raises(RuntimeError, match="synthesized before this run"):
        _ = read.stacks
