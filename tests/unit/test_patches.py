"""The one patching mechanism of the embedded AWS (sagelane.local.patches): its three kinds apply and undo
alike, every patched name still exists in the installed moto / botocore, and the docs carry the table."""

from __future__ import annotations

import re
from pathlib import Path

from sagelane.local import cloud, endpoints, patches, sagemaker_api, sfn_services  # noqa: F401  (they declare)
from sagelane.local.patches import Patch

ROOT = Path(__file__).resolve().parents[2]
# names a patch adds because moto lacks them (the canary test fails when moto gains them)
ADDED = {
    "moto.sagemaker.responses.SageMakerResponse.update_endpoint",
    "collections.Mapping",  # aliases for principalmapper, gone from Python 3.10
    "collections.MutableMapping",
}


class _Base:
    def inherited(self) -> str:
        return "base"


class _Owner(_Base):
    def own(self) -> str:
        return "own"


def test_an_attribute_patch_restores_the_owners_own_attribute_or_the_inherited_one():
    own = Patch(_Owner, "own", lambda self: "patched", lacks="-", aws="-")
    inherited = Patch(_Owner, "inherited", lambda self: "patched", lacks="-", aws="-")
    for entry in (own, inherited):
        entry.apply()
        entry.apply()  # idempotent
    assert _Owner().own() == _Owner().inherited() == "patched"
    for entry in (own, inherited):
        entry.undo()
        entry.undo()
    assert (_Owner().own(), _Owner().inherited()) == ("own", "base")
    assert "inherited" not in vars(_Owner)


def test_an_item_patch_restores_a_replaced_key_and_removes_an_added_one():
    table = {"kept": 1}
    replaced = Patch(table, "kept", 2, lacks="-", aws="-", kind="item", where="table")
    added = Patch(table, "new", 3, lacks="-", aws="-", kind="item", where="table")
    patches.apply([replaced, added])
    assert table == {"kept": 2, "new": 3} and replaced.target == "table[kept]"
    patches.undo([replaced, added])
    assert table == {"kept": 1}


def test_an_entry_patch_adds_once_and_leaves_an_entry_it_found():
    handlers = ["found"]
    new = Patch(handlers, "new", "new", lacks="-", aws="-", kind="entry", where="handlers")
    found = Patch(handlers, "found", "found", lacks="-", aws="-", kind="entry", where="handlers")
    patches.apply([new, found, new])
    assert handlers == ["found", "new"]
    patches.undo([new, found])
    assert handlers == ["found"]


def test_every_patched_name_is_still_in_the_installed_libraries():
    """A moto or botocore upgrade that moves a name a patch replaces fails here, naming it."""
    for entry in patches.table():
        if entry.applied:
            continue  # (the principalmapper aliases stay applied once an authority exists)
        if entry.kind == "attribute":
            present = hasattr(entry.owner, entry.name)
            assert present or entry.target in ADDED, f"{entry.target}: gone from the installed library"
        elif entry.kind == "item":
            assert isinstance(entry.owner, dict), entry.target
        else:
            assert isinstance(entry.owner, list), entry.target


def test_the_docs_carry_the_table_the_code_declares():
    text = (ROOT / "docs" / "embedded-aws.md").read_text()
    found = re.search(r"<!-- patches: [^\n]*-->\n(.*?)\n<!-- /patches -->", text, re.S)
    assert found, "docs/embedded-aws.md: no generated patches table"
    assert found.group(1) == patches.markdown(), "docs/embedded-aws.md: regenerate with `sagelane local patches`"
