"""Structured logging. Log only ids, hashes and counts: never request bodies, tokens or
decrypted values (``ids.subject_ref`` replaces user ids)."""

from __future__ import annotations

from aws_lambda_powertools import Logger


class AppLogger:
    """Thin wrapper: every record carries the region, and callers pass only safe fields."""

    def __init__(self, service: str, region: str):
        self.logger = Logger(service=service, use_rfc3339=True)
        self.region = region

    def info(self, message: str, **fields) -> None:
        self.logger.info(message, extra={"region": self.region, **fields})

    def warning(self, message: str, **fields) -> None:
        self.logger.warning(message, extra={"region": self.region, **fields})

    def error(self, message: str, **fields) -> None:
        self.logger.error(message, extra={"region": self.region, **fields})
