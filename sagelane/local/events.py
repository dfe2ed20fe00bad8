"""EventBridge target input, as EventBridge builds it (input path maps and templates)."""

from __future__ import annotations

import json
import re
from typing import Any

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


def json_path(event: Any, path: str) -> Any:
    """Evaluate the simple JSONPath EventBridge accepts in InputPathsMap (``$.a.b-c.d``)."""
    if path == "$":
        return event
    if not path.startswith("$."):
        raise ValueError(f"unsupported input path {path!r}")
    value = event
    for part in path[2:].split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def transform(event: dict[str, Any], target: dict[str, Any]) -> str:
    """The body EventBridge delivers to ``target`` (a CloudFormation ``AWS::Events::Rule`` target)."""
    if "Input" in target:
        return target["Input"]
    if "InputPath" in target:
        return json.dumps(json_path(event, target["InputPath"]))
    transformer = target.get("InputTransformer")
    if not transformer:
        return json.dumps(event)
    values = {name: json_path(event, path) for name, path in transformer.get("InputPathsMap", {}).items()}
    template: str = transformer["InputTemplate"]

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "aws.events.event.json":
            return json.dumps(event)
        if name not in values:
            return match.group(0)
        value = values[name]
        # Inside a JSON string the value is inserted as text; elsewhere as its JSON form.
        start = match.start()
        inside_string = template.count('"', 0, start) % 2 == 1
        if inside_string:
            return value if isinstance(value, str) else json.dumps(value)
        return json.dumps(value)

    return _PLACEHOLDER.sub(substitute, template)
