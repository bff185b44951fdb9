"""Method negotiation: ``Allow`` for known paths (405, OPTIONS) and CORS.

CORS origins come from the environment (``APPX_CORS_ORIGINS``, set from the cell's stack
config ``corsOrigins``): a comma-separated list of exact origins (``https://app.example.eu``),
or ``*``. The API authenticates with the ``Authorization`` header, not cookies, so browsers
need no credentials mode; ``APPX_CORS_ALLOW_CREDENTIALS=true`` adds
``Access-Control-Allow-Credentials`` and is refused together with ``*`` (a wildcard with
credentials would let any site act as the user). Responses that depend on ``Origin`` say
``Vary: Origin``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from appx_common.config import EnvError

ALLOW_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "If-None-Match")
EXPOSE_HEADERS = ("ETag", "Idempotent-Replayed", "Link", "Location", "Retry-After", "WWW-Authenticate")
PREFLIGHT_MAX_AGE = 600
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")


def allowed_methods(resolver, path: str) -> list[str]:
    """The methods registered for ``path`` on a Powertools resolver (its route table), plus HEAD
    where GET is served (the API answers HEAD as GET without a body) and OPTIONS."""
    methods = {route.method for route in resolver._static_routes + resolver._dynamic_routes if route.rule.match(path)}
    if not methods:
        return []
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods | {"OPTIONS"})


@dataclass(frozen=True)
class CorsPolicy:
    origins: frozenset[str] = frozenset()
    allow_credentials: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CorsPolicy:
        creds = env.get("APPX_CORS_ALLOW_CREDENTIALS", "false").lower()
        if creds not in ("true", "false"):
            raise EnvError(f"APPX_CORS_ALLOW_CREDENTIALS must be true or false, not {creds!r}")
        return cls.of(env.get("APPX_CORS_ORIGINS", "").split(","), creds == "true", "APPX_CORS_ORIGINS")

    @classmethod
    def of(cls, origins: Iterable[str], allow_credentials: bool = False, source: str = "corsOrigins") -> CorsPolicy:
        """The policy for these origins; errors name ``source`` (where the list came from)."""
        found = frozenset(o.strip() for o in origins if o.strip())
        bad = sorted(o for o in found if o != "*" and not _ORIGIN.match(o))
        if bad:
            raise EnvError(f"{source}: {', '.join(bad)} is not an origin (scheme://host[:port], lower case, no path) or *")
        if "*" in found and len(found) > 1:
            raise EnvError(f"{source}: * stands alone (it already allows every origin)")
        if allow_credentials and "*" in found:
            raise EnvError(f"{source}=* cannot be combined with credentials (APPX_CORS_ALLOW_CREDENTIALS=true): list the origins")
        return cls(found, allow_credentials)

    def _allow_origin(self, origin: str | None) -> str | None:
        if not origin:
            return None
        if origin in self.origins:
            return origin
        return "*" if "*" in self.origins else None

    def response_headers(self, origin: str | None) -> dict[str, str]:
        headers = {"Vary": "Origin"} if self.origins and "*" not in self.origins else {}
        allowed = self._allow_origin(origin)
        if allowed is None:
            return headers
        headers.update({"Access-Control-Allow-Origin": allowed, "Access-Control-Expose-Headers": ", ".join(EXPOSE_HEADERS)})
        if self.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers

    def preflight_headers(self, origin: str | None, requested: str | None, methods: Iterable[str]) -> dict[str, str]:
        methods = list(methods)
        headers = self.response_headers(origin)
        if "Access-Control-Allow-Origin" not in headers or (requested or "").upper() not in methods:
            # Not a permitted cross-origin request: no grant, the browser blocks it.
            return {k: v for k, v in headers.items() if k == "Vary"}
        headers.pop("Access-Control-Expose-Headers")
        headers.update({
            "Access-Control-Allow-Methods": ", ".join(methods),
            "Access-Control-Allow-Headers": ", ".join(ALLOW_HEADERS),
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
        })
        return headers
