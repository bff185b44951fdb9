"""botocore clients with explicit timeouts and standard retries (full jitter, bounded)."""

from __future__ import annotations

import threading
from functools import lru_cache

from botocore.config import Config

from appx_common.config import RegionConfig

DEFAULT = Config(connect_timeout=1.0, read_timeout=2.0, retries={"mode": "standard", "total_max_attempts": 3}, tcp_keepalive=True)
# Health checks must answer fast: one attempt, short timeouts whose sum stays inside the API's
# health deadline (functions/api HEALTH_DEADLINE_SECONDS). (total_max_attempts counts the first
# call; botocore's max_attempts counts retries only, so max_attempts=1 meant two calls.)
FAST = Config(connect_timeout=0.3, read_timeout=0.6, retries={"mode": "standard", "total_max_attempts": 1})
# Another region of a residency zone (the subject-key store's copies, appx_common.key_store): short,
# so a region that is down costs a sign-up or an erasure at most ~3 s; a copy missed is repaired later.
ZONE_PEER = Config(connect_timeout=0.5, read_timeout=1.0, retries={"mode": "standard", "total_max_attempts": 2})
# SQS fallback: adaptive (client-side rate limiting) since it is used when things go wrong.
QUEUE = Config(connect_timeout=1.0, read_timeout=2.0, retries={"mode": "adaptive", "total_max_attempts": 3})


_SESSION_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _session():
    """One boto3 session per process: every client after the first reuses its loaded endpoint and
    service models (a fresh session per client re-parses them: the cold start pays it each time)."""
    import boto3

    return boto3.session.Session()


def _make(kind: str, service: str, cfg: RegionConfig, config: Config):
    with _SESSION_LOCK:  # a boto3 session is not thread-safe; its clients are
        return getattr(_session(), kind)(service, region_name=cfg.region, endpoint_url=cfg.endpoint_url, config=config)


def resource(service: str, cfg: RegionConfig, config: Config = DEFAULT):
    return _make("resource", service, cfg, config)


def client(service: str, cfg: RegionConfig, config: Config = DEFAULT):
    return _make("client", service, cfg, config)


THROTTLING_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code", "")
