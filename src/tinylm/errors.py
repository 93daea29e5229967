"""Errors that mean "the input is wrong", as opposed to bugs.

The CLI prints a TinylmError's message on stderr and exits with status 2, with no traceback;
anything else is a bug and keeps its traceback.
"""


class TinylmError(Exception):
    """Bad input or missing data: a message for the user that names the problem."""


class ConfigError(TinylmError):
    """An invalid configuration value; the message starts with the field's name."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.reason = message  # without the field: a nested config prefixes its own path
        super().__init__(f"{field}: {message}")
