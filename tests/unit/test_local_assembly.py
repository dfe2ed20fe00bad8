"""The embedded AWS's CloudFormation intrinsic resolver and EventBridge input transformer."""

from __future__ import annotations

import json

import pytest

from sagelane.local.assembly import AssemblyError, Resolver
from sagelane.local.events import transform


@pytest.fixture
def resolver() -> Resolver:
    r = Resolver(account="123456789012", region="eu-west-1")
    r.refs["S/Bucket"] = "my-bucket"
    r.attrs["S/Fn.Arn"] = "arn:aws:lambda:eu-west-1:123456789012:function:fn"
    r.exports["Lake:KeyArn"] = "arn:aws:kms:eu-west-1:123456789012:key/k"
    return r


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "AWS::Region"}, "eu-west-1"),
        ({"Fn::Join": ["-", ["a", {"Ref": "Bucket"}, {"Ref": "AWS::AccountId"}]]}, "a-my-bucket-123456789012"),
        ({"Fn::GetAtt": ["Fn", "Arn"]}, "arn:aws:lambda:eu-west-1:123456789012:function:fn"),
        ({"Fn::GetAtt": "Fn.Arn"}, "arn:aws:lambda:eu-west-1:123456789012:function:fn"),
        ({"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}/*"}, "arn:aws:s3:::my-bucket/*"),
        (
            {"Fn::Sub": ["${X}-${Fn.Arn}", {"X": {"Ref": "Bucket"}}]},
            "my-bucket-arn:aws:lambda:eu-west-1:123456789012:function:fn",
        ),
        ({"Fn::Sub": "literal ${!NotAVariable}"}, "literal ${NotAVariable}"),
        ({"Fn::Select": [1, {"Fn::Split": ["/", "a/b/c"]}]}, "b"),
        ({"Fn::ImportValue": "Lake:KeyArn"}, "arn:aws:kms:eu-west-1:123456789012:key/k"),
        ({"Nested": [{"Ref": "Bucket"}, 3]}, {"Nested": ["my-bucket", 3]}),
    ],
)
def test_intrinsics_resolve(resolver, value, expected):
    assert resolver.resolve("S", value) == expected


def test_unknown_reference_is_a_named_error(resolver):
    with pytest.raises(AssemblyError, match="Ref S/Missing is not known locally"):
        resolver.resolve("S", {"Ref": "Missing"})


EVENT = {
    "id": "e1",
    "time": "2026-11-23T10:00:00Z",
    "detail": {"bucket": {"name": "raw"}, "object": {"key": "incoming/p/a.csv", "size": 42, "version-id": "v1"}},
}


def test_input_transformer_inserts_json_values_and_text_inside_strings():
    target = {
        "InputTransformer": {
            "InputPathsMap": {
                "key": "$.detail.object.key",
                "size": "$.detail.object.size",
                "version": "$.detail.object.version-id",
                "missing": "$.detail.nope",
            },
            "InputTemplate": '{"dataset":"p","key":<key>,"size":<size>,"v":<version>,"m":<missing>,"note":"got <key>"}',
        }
    }
    assert json.loads(transform(EVENT, target)) == {
        "dataset": "p",
        "key": "incoming/p/a.csv",
        "size": 42,
        "v": "v1",
        "m": None,
        "note": "got incoming/p/a.csv",
    }


def test_input_and_input_path_targets():
    assert transform(EVENT, {"Input": '{"fixed": 1}'}) == '{"fixed": 1}'
    assert json.loads(transform(EVENT, {"InputPath": "$.detail.bucket"})) == {"name": "raw"}
    assert json.loads(transform(EVENT, {})) == EVENT
