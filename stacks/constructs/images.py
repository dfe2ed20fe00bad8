"""SageMaker framework image URIs, for whatever region the stack is deployed to.

The SageMaker SDK (``sagemaker-core``) knows each image's registry account per region; the stack is
region-agnostic, so every region's URI goes into a CloudFormation mapping looked up with
``AWS::Region`` at deploy time. Offline: the SDK reads its bundled JSON.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from aws_cdk import Aws, CfnMapping, Stack
from constructs import Construct

# Framework versions of the containers (scikit-learn 1.9 / XGBoost 3.2, as in uv.lock).
FRAMEWORKS = {"sklearn": "1.9-0", "xgboost": "3.2-0"}


@dataclass(frozen=True)
class Runtime:
    """What a framework image runs the training and inference code on: its Python and the libraries it
    brings (``training/requirements.txt`` adds only what it lacks), with where that was read."""

    python: str  # "3.12"
    packages: dict[str, str]  # distribution → its specifier in the image's own requirements ("==2.5.1")
    source: str


# Read from the images' own build files (aws/sagemaker-scikit-learn-container at eae7b6b, "bump
# scikit-learn to 1.9.0": docker/1.4-2-py312 PYTHON_VERSION=3.12 and requirements.txt; aws/sagemaker-xgboost-
# container at cb8df91, after 7eefe63 "upgrade to Python 3.12" — python_requires >=3.12 — and its
# requirements.txt; the 3.2-0 image is built from that code by aws/deep-learning-containers docker/xgboost).
RUNTIMES = {
    "sklearn": Runtime(
        python="3.12",
        packages={
            "numpy": "==2.5.1",
            "scikit-learn": "==1.9.0",
            "scipy": "==1.18.0",
            "pandas": "==2.2.3",
            "pyarrow": "==25.0.0",
            "joblib": ">=1.4.0",
            "boto3": "==1.43.46",
        },
        source="aws/sagemaker-scikit-learn-container@eae7b6b: docker/1.4-2-py312, requirements.txt",
    ),
    "xgboost": Runtime(
        python="3.12",
        packages={
            "xgboost": "==3.2.0",
            "numpy": "==2.1.0",
            "scikit-learn": "==1.8.0",
            "scipy": "==1.15.0",
            "pandas": "==2.2.3",
            "pyarrow": "==22.0.0",
            "protobuf": "==3.20.2",
            "boto3": "==1.38.0",
        },
        source="aws/sagemaker-xgboost-container@cb8df91: setup.py python_requires>=3.12 (7eefe63), requirements.txt",
    ),
}


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


def framework_for(algorithm: str) -> str:
    return "xgboost" if algorithm == "xgboost" else "sklearn"
