"""The edge function's bundled configuration (Lambda@Edge has no environment variables).

Built from the residency definition, each zone's field-encryption public key and the cells'
browser origins (``appx:cell.corsOrigins``, which must agree: ``cells_cors_origins``); the
global stack calls it with cell outputs at deploy time, the local runtime with local keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from components.residency import Residency

EDGE_CONFIG_FILE = "config.json"
EDGE_CONFIG_VERSION = 1


def edge_function_config(residency: Residency, domain: str, zone_keys: Mapping[str, Mapping[str, str]],
                         cors_origins: Sequence[str] = ()) -> dict:
    """`zone_keys` maps zone name -> {"keyId": ..., "publicKeyPem": ...}; `cors_origins` are the
    origins the function grants on the responses it generates (the API's rules)."""
    missing = sorted(set(residency.zones) - set(zone_keys))
    if missing:
        raise ValueError(f"no field-encryption public key for zone(s) {', '.join(missing)}")
    document = residency.routing_document()
    for name, zone in residency.zones.items():
        document["zones"][name].update(
            originHost=zone.origin_host(domain),
            keyId=zone_keys[name]["keyId"],
            publicKeyPem=zone_keys[name]["publicKeyPem"],
        )
    return {"version": EDGE_CONFIG_VERSION, "publicOriginHost": f"origin.{domain}", **document, "corsOrigins": list(cors_origins)}
