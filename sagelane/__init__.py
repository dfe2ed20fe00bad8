"""SageLane: a serverless MLOps kit for AWS."""

__version__ = "0.1.0"
