"""Who the CLI acts as: the operator's own credentials, or a role it assumes (``sagelane --role ARN``) —
on AWS and on the embedded AWS alike, through ``sts:AssumeRole``. ``--policy NAME`` (embedded AWS only)
assumes the embedded AWS's role that holds only that managed policy of the kit, so the approver and
invoke policies can be exercised as the people they are for would hold them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sagelane import aws
from sagelane.errors import SageLaneError

HOLDER_PATH = "sagelane-local"  # the path of the roles sagelane.local.iam makes to hold one managed policy
_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


@contextmanager
def acting_as(*, role: str | None = None, policy: str | None = None) -> Iterator[str]:
    """Within the block, this process calls AWS as ``role`` (or the holder of ``policy``): its ARN; after it,
    with the credentials it had before."""
    before = {name: os.environ.get(name) for name in _CREDENTIALS}
    try:
        yield _assume(role=role, policy=policy)
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        aws.reset()


def _assume(*, role: str | None, policy: str | None) -> str:
    sts = aws.client("sts")
    if policy is not None:
        if aws.local_endpoint() is None:
            raise SageLaneError(
                f"--policy {policy}: only on the embedded AWS; on AWS, use --role with a role that holds it"
            )
        account = sts.get_caller_identity()["Account"]
        role = f"arn:aws:iam::{account}:role/{HOLDER_PATH}/{policy.rsplit('/', 1)[-1]}"
    assert role is not None
    try:
        credentials = sts.assume_role(RoleArn=role, RoleSessionName="sagelane-cli")["Credentials"]
    except Exception as exc:
        response = getattr(exc, "response", None)
        if response is None:
            raise
        raise SageLaneError(f"cannot act as {role}: {response['Error'].get('Message') or exc}") from None
    os.environ.update(
        AWS_ACCESS_KEY_ID=credentials["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=credentials["SecretAccessKey"],
        AWS_SESSION_TOKEN=credentials["SessionToken"],
    )
    os.environ.pop("AWS_PROFILE", None)  # the assumed role's credentials, not the profile's
    aws.reset()
    return role
