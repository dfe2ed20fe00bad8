"""Preparing training data and running the training entry point (training/train.py) locally."""
