"""Serving: the SageMaker inference container contract, run locally."""
