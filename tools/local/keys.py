"""Local zone keys, generated per run into a temp dir: per zone an RSA field-encryption key
(`<zone>.pem`), a subject-key wrapping key (`<zone>.wrap`, 32 random bytes: the stand-in for the
zone's symmetric KMS key) and an HMAC key for subject references (`<zone>.mac`).

Each region gets its own key directory holding only the keys of the zones that list it, as the
zone's KMS multi-Region key has replicas only inside the zone: a region outside the zone
cannot decrypt. The edge config gets the public keys (components.edge_config).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from components.edge_config import edge_function_config
from tools.local.topology import ACCOUNT_ID, Topology


def key_id(zone: str, public_pem: bytes) -> str:
    return "mrk-" + hashlib.sha256(zone.encode() + b"\0" + public_pem).hexdigest()[:32]


def generate(topology: Topology, directory: Path, bits: int = 2048) -> dict[str, dict[str, str]]:
    """Write `<dir>/<region>/<zone>.pem`. Returns zone -> {keyId, publicKeyPem}."""
    zone_keys: dict[str, dict[str, str]] = {}
    private: dict[str, bytes] = {}
    symmetric = {name: {suffix: os.urandom(32) for suffix in ("wrap", "mac")} for name in topology.zones}
    for name in topology.zones:
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        private[name] = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        zone_keys[name] = {"keyId": key_id(name, pub), "publicKeyPem": pub.decode()}
    for region in topology.cell_regions:
        rdir = directory / region
        rdir.mkdir(parents=True, exist_ok=True)
        rdir.chmod(0o700)
        for zone in topology.zones_in(region):
            for path, material in ((rdir / f"{zone.name}.pem", private[zone.name]),
                                   *((rdir / f"{zone.name}.{s}", m) for s, m in symmetric[zone.name].items())):
                path.write_bytes(material)
                path.chmod(0o600)
    return zone_keys


def key_arn(region: str, key: str) -> str:
    return f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{key}"


def edge_config(topology: Topology, zone_keys) -> dict:
    return edge_function_config(topology.project.residency, topology.domain, zone_keys, topology.cors_origins)
