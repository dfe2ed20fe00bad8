"""The embedded AWS: the synthesized cloud assembly run on moto with local compute.

What exists so far: reading a cloud assembly and resolving CloudFormation intrinsics (``assembly``),
running Lambda functions' real handlers in-process behind ``lambda:Invoke`` (``lambdas``), EventBridge
input transformers (``events``), and provisioning the resources the ingest flow uses (``provision``).
The embedded-AWS issue adds the server, the event pump and the CLI on top.
"""
