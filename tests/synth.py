"""Synthesizing the app in tests: once per environment and session (jsii costs seconds per process)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Synth:
    env: str
    outdir: Path
    templates: dict[str, dict[str, Any]]  # stack name → template
    constructs: dict[str, Any] | None  # stack name → Stack construct (None: read from an existing assembly)

    @property
    def stacks(self) -> dict[str, Any]:
        if self.constructs is None:
            raise RuntimeError(f"{self.outdir} was synthesized before this run: its constructs are not at hand")
        return self.constructs

    def template(self, suffix: str) -> dict[str, Any]:
        return next(t for name, t in self.templates.items() if name.endswith(suffix))

    def resources(self, suffix: str, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template(suffix)["Resources"].items() if v["Type"] == type_}


def cdk_context(root: Path) -> dict[str, Any]:
    return json.loads((root / "cdk.json").read_text())["context"]


def synthesize(
    root: Path,
    env: str,
    outdir: Path,
    *,
    ingest: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
) -> Synth:
    """Synthesize ``env``; ``ingest`` / ``training`` override fields of those sections of its config
    (e.g. a 1 MB Lambda limit, a longer coalescing wait)."""
    from sagelane.config import load_project
    from stacks.app import build_app

    project = load_project(env, root)
    for section, overrides in (("ingest", ingest), ("training", training)):
        if overrides:
            updated = getattr(project.config, section).model_copy(update=overrides)
            project = project.model_copy(update={"config": project.config.model_copy(update={section: updated})})
    app = build_app(project, outdir=str(outdir), context=cdk_context(root))
    assembly = app.synth()
    templates = {s.stack_name: s.template for s in assembly.stacks}
    stacks = {c.stack_name: c for c in app.node.children if hasattr(c, "stack_name")}
    return Synth(env=env, outdir=outdir, templates=templates, constructs=stacks)


def existing(root: Path, env: str, outdir: Path) -> Synth:
    """An assembly of ``env`` synthesized before (``SAGELANE_TEST_ASSEMBLY``), checked and read."""
    from sagelane.local.assembly import load_assembly
    from sagelane.local.runtime import existing_assembly

    outdir = existing_assembly(outdir.resolve(), env, root)
    templates = {name: stack.template for name, stack in load_assembly(outdir).items()}
    return Synth(env=env, outdir=outdir, templates=templates, constructs=None)


def definition(template: dict[str, Any], name: str = "IngestWorkflow") -> dict[str, Any]:
    """A state machine's ASL (by logical id prefix), with CloudFormation references shown as ``<Ref X>``."""
    machines = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::StepFunctions::StateMachine"}
    if len(machines) > 1:  # the Ingest stack has two (ingest, backfill): pick by logical id
        machines = {k: r for k, r in machines.items() if k.startswith(name)}
    (machine,) = machines.values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else f"<{json.dumps(p, sort_keys=True)}>".replace('"', "'") for p in parts)
    return json.loads(text)
