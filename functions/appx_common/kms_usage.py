"""The KMS operations each kind of request makes, declared in one place.

The capacity plan (`python -m tools.plan`) multiplies these by the traffic profile to get each
region's KMS demand against its request quotas, and `tests/functions/test_kms_usage.py` drives
the real handlers and checks they make exactly these calls. Change the functions' key usage and
this declaration together, or that test fails; the plan follows automatically.

Counted per request with a cold data-key cache (the in-function cache is per execution
environment, so at scale most reads miss it): the plan stays on the safe side.

* ``rsa``: RSA operations (``Decrypt`` with ``RSAES_OAEP_SHA_256`` on the zone's multi-Region
  field key), made in the serving cell's region: only the write paths that reseal the edge's
  fields under the subject's key (sign-up, rectification), one per request (every field of a
  request shares its wrapped data key).
* ``symmetric``: symmetric KMS operations the function code makes (``Decrypt``,
  ``GenerateDataKey``, ``Encrypt`` on a symmetric key) in the serving cell's region: the
  subject key's ``GenerateDataKey`` at sign-up and its ``Decrypt`` (cold subject-key cache) on
  every request that opens or seals the subject's data, including an idempotent reply sealed
  under it (requests with an ``Idempotency-Key`` are counted: the safe side). Service-side
  use of the cell's CMK (DynamoDB, SQS, Lambda environment) is cached by those services and
  not per request; the subject-reference HMAC key is derived by one ``GenerateMac`` per zone per
  execution environment (appx_common.subjects), not per request.

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
        "signup": KmsOps(rsa=1, symmetric=1),  # POST /v1/users: opens the edge's fields, new subject key, reseals
        "profileRead": KmsOps(symmetric=1),  # GET /v1/me: unwraps the subject key
        "profileUpdate": KmsOps(rsa=1, symmetric=1),  # PATCH /v1/me: opens the edge's fields, reseals under the subject key
        "postCreate": KmsOps(symmetric=1),  # POST /v1/posts: the idempotent reply is sealed under the subject key
        "export": KmsOps(symmetric=1),  # GET /v1/me/export: unwraps the subject key (page 1: the profile)
        "erasure": KmsOps(),  # DELETE /v1/me: deletes the subject key (shredding), decrypts nothing
    }
)
