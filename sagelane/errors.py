"""Domain errors.

Every error raised on purpose by SageLane ends in ``Error`` and keeps a stable class name: the
state machines match these names in their Retry / Catch clauses (a Lambda error surfaces in Step
Functions as its exception class name), and the CLI turns them into one-line messages.
"""

from __future__ import annotations


class SageLaneError(Exception):
    """Base class: a problem SageLane can explain in one line."""


class ConfigError(SageLaneError):
    """An environment config file is missing or invalid."""


class ContractError(SageLaneError):
    """A data contract file is missing or invalid."""


class UnknownDatasetError(SageLaneError):
    """A dataset name that no contract / config entry describes."""


class UnknownModelError(SageLaneError):
    """A model name that the environment's config does not list."""


class InputReadError(SageLaneError):
    """An input file cannot be read as a table.

    ``code`` is a short stable identifier (``empty_file``, ``not_utf8``, ``truncated_gzip``...) that
    reports and tests rely on; the message says what is wrong in words a data owner understands.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
