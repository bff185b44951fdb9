"""Benchmark (not a test): edge CPU time per request, asymmetric operations, cold import time
and zipped package size of each function.

    .venv/bin/python -m tools.bench_functions [--requests 300]

Targets we set ourselves: edge overhead at 5 fields < 1 ms median; edge import < 150 ms; edge
package < 10 MB; API import < 300 ms.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "functions"
sys.path.insert(0, str(HERE))

LIMITS_MB = {"edge": 50, "api": 50, "worker": 50, "stream": 50}  # zipped direct-upload limit; edge origin-request 50 MB
DEPS = {
    "edge": ["cryptography", "cffi", "_cffi_backend"],
    "api": ["aws_lambda_powertools", "cryptography", "cffi", "_cffi_backend", "typing_extensions", "jmespath"],
    "worker": ["aws_lambda_powertools", "cryptography", "cffi", "_cffi_backend", "typing_extensions", "jmespath"],
    "stream": ["aws_lambda_powertools", "cryptography", "cffi", "_cffi_backend", "typing_extensions", "jmespath"],
}


def edge_config(fields: list[str]) -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return {
        "version": 1, "publicOriginHost": "origin.x", "countries": {"FR": "eu"}, "unmappedCountries": "deny",
        "sensitiveFields": fields,
        "zones": {"eu": {"regions": ["eu-west-1"], "originHost": "eu.origin.x", "keyId": "mrk-bench", "publicKeyPem": pem}},
    }


def event(body: dict) -> dict:
    data = base64.b64encode(json.dumps(body).encode()).decode()
    return {"Records": [{"cf": {"request": {
        "method": "POST", "uri": "/v1/users", "querystring": "",
        "headers": {"content-type": [{"key": "Content-Type", "value": "application/json"}],
                    "cloudfront-viewer-country": [{"key": "CloudFront-Viewer-Country", "value": "FR"}]},
        "body": {"inputTruncated": False, "action": "read-only", "encoding": "base64", "data": data},
        "origin": {"custom": {"domainName": "origin.x", "port": 443, "protocol": "https", "path": "", "customHeaders": {}}},
    }}}]}


def load_edge():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_edge_handler", HERE / "edge" / "handler.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def cpu_times(handler, body: dict, n: int) -> list[float]:
    out = []
    for _ in range(n):
        ev = event(body)
        t = time.process_time_ns()
        handler(ev, None)
        out.append((time.process_time_ns() - t) / 1e6)
    return out


def bench_edge(n: int) -> list[str]:
    mod = load_edge()
    lines = ["| fields | median CPU ms | p95 CPU ms | overhead vs pass-through (median) | RSA ops/request |", "|---|---|---|---|---|"]
    base_handler = mod.make_handler({}, config=edge_config(["unused"]))
    base_body = {f"f{i}": f"value-{i}@example.org" for i in range(5)}
    base = cpu_times(base_handler, base_body, n)
    base_med = statistics.median(base)
    lines.append(f"| 0 (pass-through) | {base_med:.3f} | {sorted(base)[int(n * 0.95)]:.3f} | — | 0 |")
    for k in (1, 5, 20):
        fields = [f"f{i}" for i in range(k)]
        h = mod.make_handler({}, config=edge_config(fields))
        body = {f: f"value-{f}@example.org" for f in fields}
        times = cpu_times(h, body, n)
        med = statistics.median(times)
        lines.append(f"| {k} | {med:.3f} | {sorted(times)[int(n * 0.95)]:.3f} | {med - base_med:.3f} ms | {h.app.rsa_operations / n:.0f} |")
    return lines


def import_time(name: str) -> float:
    code = (
        "import sys,time;sys.path[:0]=[%r,%r];t=time.perf_counter();"
        "import importlib.util as u;s=u.spec_from_file_location('handler',%r);m=u.module_from_spec(s);s.loader.exec_module(m);"
        "print((time.perf_counter()-t)*1000)"
    ) % (str(HERE / name), str(HERE), str(HERE / name / "handler.py"))
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout) for _ in range(3)]
    return statistics.median(runs)


def package_size(name: str) -> float:
    import importlib.util

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for root in (HERE / name, HERE / "appx_common"):
            for p in root.rglob("*"):
                if p.is_file() and "__pycache__" not in p.parts:
                    z.write(p, p.relative_to(HERE if root.name == "appx_common" else root))
        for dep in DEPS[name]:
            spec = importlib.util.find_spec(dep)
            if spec is None or not spec.origin:
                continue
            origin = Path(spec.origin)
            base = origin.parent if origin.name == "__init__.py" else origin
            files = base.rglob("*") if base.is_dir() else [base]
            for p in files:
                if p.is_file() and "__pycache__" not in p.parts:
                    z.write(p, p.relative_to(base.parent))
    return len(buf.getvalue()) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    print(f"# Functions benchmark ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]})\n")
    print("## Edge CPU time per request (sign-up body, RSA-2048)\n")
    print("\n".join(bench_edge(args.requests)))
    print("\n## Cold import and package size\n")
    print("| function | cold import ms (median of 3) | zipped package MB | limit MB |")
    print("|---|---|---|---|")
    for name in ("edge", "api", "worker", "stream"):
        print(f"| {name} | {import_time(name):.0f} | {package_size(name):.1f} | {LIMITS_MB[name]} |")
    print("\nPackage sizes count handler + appx_common + the pinned runtime wheels installed in this venv "
          "(boto3/botocore come with the Lambda runtime and are not counted).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
