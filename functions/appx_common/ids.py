"""Identifiers. A user id carries its residency zone so any edge can route without a lookup.

    user id   u_<zone>_<26 base32 chars>   (128 random bits)
    author id a_<26>   pseudonym used on posts, unlinkable to the user id without the
                        restricted profile
    post id   p_<26>
    request   r_<26>
    session   s_<26>
    bearer    appx2.<user id>.<session id>.<43 base64url chars> (256 random bits; only the
              SHA-256 of the secret is stored, in the session's item: docs/token-format.md)
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import NamedTuple

_ZONE = r"[a-z][a-z0-9]{0,14}"
_RAND = r"[a-z2-7]{26}"
USER_ID = re.compile(rf"^u_({_ZONE})_{_RAND}$")
POST_ID = re.compile(rf"^p_{_RAND}$")
AUTHOR_ID = re.compile(rf"^a_{_RAND}$")
SESSION_ID = re.compile(rf"^s_{_RAND}$")
BEARER = re.compile(rf"^appx2\.(u_{_ZONE}_{_RAND})\.(s_{_RAND})\.([A-Za-z0-9_-]{{43}})$")
BEARER_PREFIX = "appx2"


class Bearer(NamedTuple):
    """A parsed bearer token. The user id comes first: the edge routes by its zone."""

    user_id: str
    session_id: str
    secret: str


def _rand() -> str:
    return base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=").lower()


def new_user_id(zone: str) -> str:
    return f"u_{zone}_{_rand()}"


def new_author_id() -> str:
    return f"a_{_rand()}"


def new_post_id() -> str:
    return f"p_{_rand()}"


def new_request_id() -> str:
    return f"r_{_rand()}"


def zone_of(user_id: str) -> str | None:
    m = USER_ID.match(user_id or "")
    return m.group(1) if m else None


def new_session_id() -> str:
    return f"s_{_rand()}"


def new_bearer(user_id: str, session_id: str) -> tuple[str, str]:
    """Return (token for the client, SHA-256 hex of its secret for storage)."""
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
    return f"{BEARER_PREFIX}.{user_id}.{session_id}.{secret}", token_hash(secret)


def parse_bearer(token: str) -> Bearer | None:
    """The parsed token, or None when it is malformed."""
    m = BEARER.match(token or "")
    return Bearer(m.group(1), m.group(2), m.group(3)) if m else None


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def subject_ref(user_id: str) -> str:
    """A short, non-reversible reference for logs (logs never carry the user id itself)."""
    return hashlib.sha256(("appx-log:" + user_id).encode()).hexdigest()[:12]
