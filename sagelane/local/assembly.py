"""Read a synthesized cloud assembly (``cdk.out``) and resolve CloudFormation intrinsics in it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagelane.errors import SageLaneError


class AssemblyError(SageLaneError):
    """The cloud assembly is missing, or uses something the local resolver cannot resolve."""


@dataclass
class Stack:
    name: str
    template: dict[str, Any]
    outdir: Path

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template.get("Resources", {})

    def of_type(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == type_}

    def asset_dir(self, logical_id: str) -> Path:
        """The staged asset folder of a resource, from the stack's asset manifest (by its S3 object key)."""
        properties = self.resources[logical_id].get("Properties", {})
        code = properties.get("Code") or properties.get("Content") or {}
        key = code.get("S3Key")
        manifest = self.outdir / f"{self.name}.assets.json"
        if isinstance(key, str) and manifest.is_file():
            for asset in json.loads(manifest.read_text()).get("files", {}).values():
                if any(d.get("objectKey") == key for d in asset.get("destinations", {}).values()):
                    return self.outdir / asset["source"]["path"]
        raise AssemblyError(f"{self.name}/{logical_id}: no staged asset found for its code")


def load_assembly(outdir: Path) -> dict[str, Stack]:
    manifest_path = outdir / "manifest.json"
    if not manifest_path.is_file():
        raise AssemblyError(f"{outdir} is not a cloud assembly (no manifest.json): run ./dev synth first")
    manifest = json.loads(manifest_path.read_text())
    stacks = {}
    for name, artifact in manifest["artifacts"].items():
        if artifact.get("type") == "aws:cloudformation:stack":
            template_file = artifact["properties"]["templateFile"]
            stacks[name] = Stack(name=name, template=json.loads((outdir / template_file).read_text()), outdir=outdir)
    return stacks


@dataclass
class Resolver:
    """Resolves ``Ref`` / ``Fn::GetAtt`` / ``Fn::Join`` / ``Fn::Sub`` / ``Fn::Select`` / ``Fn::Split`` /
    ``Fn::ImportValue`` against what has been provisioned so far."""

    account: str
    region: str
    partition: str = "aws"
    refs: dict[str, str] = field(default_factory=dict)  # "Stack/LogicalId" → Ref value
    attrs: dict[str, str] = field(default_factory=dict)  # "Stack/LogicalId.Attr" → value
    exports: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)  # "Stack/Name" → value
    mappings: dict[str, dict[str, Any]] = field(default_factory=dict)  # stack → its Mappings

    def pseudo(self) -> Mapping[str, str]:
        return {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": "",
        }

    def resolve(self, stack: str, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(stack, v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(stack, v) for k, v in value.items()}
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return self._ref(stack, arg)
        if fn == "Fn::GetAtt":
            logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            key = f"{stack}/{logical}.{attribute}"
            if key not in self.attrs:
                raise AssemblyError(f"{key} is not known locally (resource not provisioned yet?)")
            return self.attrs[key]
        if fn == "Fn::Join":
            separator, parts = arg
            return separator.join(str(self.resolve(stack, p)) for p in parts)
        if fn == "Fn::Select":
            index, items = arg
            return self.resolve(stack, items)[int(self.resolve(stack, index))]
        if fn == "Fn::Split":
            separator, text = arg
            return str(self.resolve(stack, text)).split(separator)
        if fn == "Fn::ImportValue":
            name = self.resolve(stack, arg)
            if name not in self.exports:
                raise AssemblyError(f"export {name} is not known locally")
            return self.exports[name]
        if fn == "Fn::Sub":
            return self._sub(stack, arg)
        if fn == "Fn::FindInMap":
            name, top, second = (self.resolve(stack, a) for a in arg)
            try:
                return self.mappings[stack][name][top][second]
            except KeyError:
                raise AssemblyError(f"{stack}: no mapping value {name}/{top}/{second}") from None
        return {k: self.resolve(stack, v) for k, v in value.items()}

    def _ref(self, stack: str, name: str) -> str:
        if name in self.pseudo():
            return self.pseudo()[name]
        for key in (f"{stack}/{name}",):
            if key in self.refs:
                return self.refs[key]
            if key in self.parameters:
                return self.parameters[key]
        raise AssemblyError(f"Ref {stack}/{name} is not known locally (resource not provisioned yet?)")

    def _sub(self, stack: str, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        resolved = {k: str(self.resolve(stack, v)) for k, v in variables.items()}
        out, i = [], 0
        while i < len(text):
            start = text.find("${", i)
            if start == -1:
                out.append(text[i:])
                break
            out.append(text[i:start])
            end = text.index("}", start)
            name = text[start + 2 : end]
            if name.startswith("!"):
                out.append("${" + name[1:] + "}")
            elif name in resolved:
                out.append(resolved[name])
            elif "." in name:
                logical, attribute = name.split(".", 1)
                out.append(str(self.resolve(stack, {"Fn::GetAtt": [logical, attribute]})))
            else:
                out.append(str(self._ref(stack, name)))
            i = end + 1
        return "".join(out)
