"""CDK stacks: one per lifecycle concern, thin, composing the constructs in ``stacks/constructs``."""
