"""State machine definitions (CDK chains), one module per workflow."""
