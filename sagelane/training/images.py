"""The SageMaker framework images the templates name, as data: their framework versions and what each runs
(its Python and the libraries it brings), read from the images' build files. Pure data, importable without
the CDK (the install step's wheelhouse build reads it); ``stacks.constructs.images`` turns it into URIs."""

from __future__ import annotations

from dataclasses import dataclass

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
