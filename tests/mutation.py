"""Mutations of a synthesized cloud assembly: the same assembly with one permission taken away.

``without(assembly, into, stack=..., resource=..., action=...)`` copies the assembly (templates and
manifests copied, code assets linked) and removes ``action`` from every statement of one IAM policy,
managed policy, role trust policy or KMS key policy (``sid``: the key policy statement with that Sid, whole).
It fails when nothing matched, so a test of a mutation can never pass by mutating nothing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any


def without(
    assembly: Path, into: Path, *, stack: str, resource: str, action: str | None = None, sid: str | None = None
) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    for entry in assembly.iterdir():
        target = into / entry.name
        if entry.is_dir():
            target.symlink_to(entry.resolve(), target_is_directory=True)
        else:
            shutil.copy2(entry, target)
    (path,) = [p for p in into.glob("*.template.json") if p.name == f"{stack}.template.json"]
    template = json.loads(path.read_text())
    matches = [logical for logical in template["Resources"] if logical.startswith(resource)]
    if len(matches) != 1:
        raise KeyError(f"{stack}: {resource} matches {matches or 'no resource'}")
    props = template["Resources"][matches[0]]["Properties"]
    document = props.get("PolicyDocument") or props.get("KeyPolicy") or props.get("AssumeRolePolicyDocument")
    removed = _remove(document, action=action, sid=sid)
    if not removed:
        raise ValueError(f"{stack}/{matches[0]}: no statement has {action or sid}")
    path.write_text(json.dumps(template))
    return into


def _remove(document: dict[str, Any], *, action: str | None, sid: str | None) -> int:
    removed, kept = 0, []
    for statement in document["Statement"]:
        if sid is not None:
            if statement.get("Sid") == sid:
                removed += 1
                continue
        elif action is not None:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if action in actions:
                removed += 1
                actions = [a for a in actions if a != action]
                if not actions:
                    continue
                statement = {**statement, "Action": actions}
        kept.append(statement)
    document["Statement"] = kept
    return removed
