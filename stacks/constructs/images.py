"""SageMaker framework image URIs, for whatever region the stack is deployed to.

The SageMaker SDK (``sagemaker-core``) knows each image's registry account per region; the stack is
region-agnostic, so every region's URI goes into a CloudFormation mapping looked up with
``AWS::Region`` at deploy time. Offline: the SDK reads its bundled JSON.
"""

from __future__ import annotations

import functools

from aws_cdk import Aws, CfnMapping, Stack
from constructs import Construct

from sagelane.training.images import FRAMEWORKS


@functools.cache
def _uris(framework: str, version: str, scope: str, instance_type: str) -> dict[str, str]:
    from sagemaker.core import image_uris

    config = image_uris.config_for_framework(framework)[scope]["versions"][version]
    return {
        region: image_uris.retrieve(
            framework=framework, region=region, version=version, image_scope=scope, instance_type=instance_type
        )
        for region in sorted(config["registries"])
    }


def framework_image(scope: Construct, framework: str, *, image_scope: str, instance_type: str) -> str:
    """The image URI (a token resolved at deploy) for ``framework`` on ``instance_type``."""
    version = FRAMEWORKS[framework]
    gpu = instance_type.split(".")[1].startswith(("g", "p"))
    stack = Stack.of(scope)
    mapping_id = f"Image{framework.capitalize()}{image_scope.capitalize()}{'Gpu' if gpu else 'Cpu'}"
    mapping = stack.node.try_find_child(mapping_id)
    if mapping is None:
        uris = _uris(framework, version, image_scope, instance_type)
        mapping = CfnMapping(stack, mapping_id, mapping={region: {"uri": uri} for region, uri in uris.items()})
    return mapping.find_in_map(Aws.REGION, "uri")  # type: ignore[union-attr]
