"""The one error type for bad project configuration."""

from __future__ import annotations

from collections.abc import Iterable


class ConfigError(ValueError):
    """A configuration value is wrong. Names the file, the key and what is allowed."""

    def __init__(self, file: str, key: str, problem: str, allowed: Iterable[str] | str | None = None):
        self.file, self.key, self.problem = file, key, problem
        if allowed is None:
            self.allowed = None
        elif isinstance(allowed, str):
            self.allowed = allowed
        else:
            self.allowed = ", ".join(sorted(allowed))
        message = f"{file}: {key}: {problem}"
        if self.allowed:
            message += f" (allowed: {self.allowed})"
        super().__init__(message)
