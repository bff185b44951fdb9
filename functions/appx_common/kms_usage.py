"""The KMS operations each kind of request makes, declared in one place.

The capacity plan (`python -m tools.plan`) multiplies these by the traffic profile to get each
region's KMS demand against its request quotas, and `tests/functions/test_kms_usage.py` drives
the real handlers and checks they make exactly these calls. Change the functions' key usage and
this declaration together, or that test fails; the plan follows automatically.

Counted per request with a cold data-key cache (the in-function cache is per execution
environment, so at scale most reads miss it): the plan stays on the safe side.

* ``rsa``: RSA operations (``Decrypt`` with ``RSAES_OAEP_SHA_256`` on the zone's multi-Region
  key), made in the serving cell's region. A profile written by one request has one data key;
  each later rectification adds one until the profile is rewritten.
* ``symmetric``: symmetric KMS operations the function code makes (``Decrypt``,
  ``GenerateDataKey``, ``Encrypt`` on a symmetric key) in the serving cell's region. Service-side
  use of the cell's CMK (DynamoDB, SQS, Lambda environment) is cached by those services and
  not per request.

The edge function makes none: it seals with the zone's public key bundled in its config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class KmsOps:
    rsa: int = 0
    symmetric: int = 0


# Request kind -> KMS operations per request. The kinds are the route mix of capacity.yaml.
KMS_OPS_PER_REQUEST: Mapping[str, KmsOps] = MappingProxyType(
    {
        "feed": KmsOps(),  # GET /v1/feed: public, no personal data
        "postRead": KmsOps(),  # GET /v1/posts/{id}: public, no personal data
        "signup": KmsOps(),  # POST /v1/users: stores the edge's ciphertext as is
        "profileRead": KmsOps(rsa=1),  # GET /v1/me: unwraps the profile's data key
        "profileUpdate": KmsOps(),  # PATCH /v1/me: stores the edge's ciphertext as is
        "postCreate": KmsOps(),  # POST /v1/posts
        "export": KmsOps(rsa=1),  # GET /v1/me/export: unwraps the profile's data key
        "erasure": KmsOps(),  # DELETE /v1/me: deletes, decrypts nothing
    }
)
