"""botocore clients with explicit timeouts and standard retries (full jitter, bounded)."""

from __future__ import annotations

from botocore.config import Config

from appx_common.config import RegionConfig

DEFAULT = Config(connect_timeout=1.0, read_timeout=2.0, retries={"mode": "standard", "total_max_attempts": 3}, tcp_keepalive=True)
# Health checks must answer fast: one attempt, short timeouts. (total_max_attempts counts the
# first call; botocore's max_attempts counts retries only, so max_attempts=1 meant two calls.)
FAST = Config(connect_timeout=0.5, read_timeout=0.8, retries={"mode": "standard", "total_max_attempts": 1})
# SQS fallback: adaptive (client-side rate limiting) since it is used when things go wrong.
QUEUE = Config(connect_timeout=1.0, read_timeout=2.0, retries={"mode": "adaptive", "total_max_attempts": 3})


def _session():
    import boto3

    return boto3.session.Session()


def resource(service: str, cfg: RegionConfig, config: Config = DEFAULT):
    return _session().resource(service, region_name=cfg.region, endpoint_url=cfg.endpoint_url, config=config)


def client(service: str, cfg: RegionConfig, config: Config = DEFAULT):
    return _session().client(service, region_name=cfg.region, endpoint_url=cfg.endpoint_url, config=config)


THROTTLING_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code", "")
