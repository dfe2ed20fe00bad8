"""Monitoring of live models: drift against the training baseline."""
