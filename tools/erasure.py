"""List and resume erasure jobs (GDPR Art. 17): `python -m tools.erasure list|resume`.

    python -m tools.erasure list   --region eu-west-1 [--zone eu]            # AWS (boto3 credentials)
    python -m tools.erasure resume --region eu-west-1 [--zone eu] [--job REF] [--consistent]
    python -m tools.erasure list   --local [--state-dir DIR] --region eu-west-1   # the running local stack

A job is a row of the zone's restricted table (``ERASURE-JOB`` / subject reference) written with
the tombstone; it is deleted once verified complete (appx_common.erasure). ``list`` prints the
pending jobs as JSON (subject reference, age, attempts, what remained at the last attempt; never
the user id). ``resume`` runs them now, in this region, exactly as the scheduled sweeper does;
``--consistent`` finds posts by a strongly consistent table scan instead of the ``byAuthor``
index (for audits; reads the whole posts table). Exit 1 when a resumed job is still incomplete.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions"))

from appx_common.config import RegionConfig  # noqa: E402
from appx_common.erasure import ErasureJobs  # noqa: E402
from appx_common.store import Store  # noqa: E402
from appx_common.subjects import SubjectRefs  # noqa: E402


def _no_key(zone: str) -> bytes:
    raise RuntimeError("the operator command never computes subject references")


def jobs_for(region: str, zones: list[str], dynamodb) -> ErasureJobs:
    cfg = RegionConfig(region=region, zones={z: {"table": f"appx-restricted-{z}", "keysTable": f"appx-subject-keys-{z}"} for z in zones})
    return ErasureJobs(Store(cfg, dynamodb, SubjectRefs(_no_key)))


def describe(job: dict, now: float) -> dict:
    return {"job": job["sk"], "zone": job.get("zone"), "startedIn": job.get("region"),
            "ageSeconds": int(now - int(job.get("createdAt", now))), "attempts": int(job.get("attempts", 0)),
            "lastAttemptAt": int(job["lastAttemptAt"]) if "lastAttemptAt" in job else None,
            "remaining": {k: int(v) for k, v in (job.get("remaining") or {}).items()}}


def main(argv: list[str] | None = None, dynamodb=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.erasure", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("list", "resume"))
    parser.add_argument("--region", required=True, help="a region of the zone(s)")
    parser.add_argument("--zone", action="append", help="residency zone (repeatable; default: every zone listing --region)")
    parser.add_argument("--job", help="resume only this job (its subject reference, as `list` prints it)")
    parser.add_argument("--consistent", action="store_true", help="find posts by a consistent scan, not the index")
    parser.add_argument("--local", action="store_true", help="the running local stack (tools.local) instead of AWS")
    parser.add_argument("--state-dir", type=Path, default=None, help="the local stack's state dir (default .local-runtime/)")
    args = parser.parse_args(argv)

    from components.residency import RESIDENCY_FILE, load_residency

    residency = load_residency(ROOT / RESIDENCY_FILE)
    zones = args.zone or [z.name for z in residency.zones.values() if args.region in z.regions]
    unknown = [z for z in zones if z not in residency.zones or args.region not in residency.zones[z].regions]
    if unknown or not zones:
        print(f"error: --zone {', '.join(unknown) or '(none)'}: not a zone of {RESIDENCY_FILE} that lists {args.region} "
              f"(allowed: {', '.join(z.name for z in residency.zones.values() if args.region in z.regions) or 'none'})", file=sys.stderr)
        return 2
    if dynamodb is None:
        import boto3

        from appx_common.aws import DEFAULT

        kwargs = {}
        if args.local:
            from tools.local.aws import CREDENTIALS
            from tools.local.runtime import read_state

            kwargs = {"endpoint_url": read_state(args.state_dir)["moto"], **CREDENTIALS}
        dynamodb = boto3.resource("dynamodb", region_name=args.region, config=DEFAULT, **kwargs)
    jobs = jobs_for(args.region, zones, dynamodb)
    now = time.time()
    pending = [j for z in zones for j in jobs.list(z) if args.job in (None, j["sk"])]
    if args.command == "list":
        print(json.dumps({"region": args.region, "zones": zones, "pending": [describe(j, now) for j in pending]}, indent=2))
        return 0
    results = []
    for job in pending:
        outcome = jobs.run(job, consistent_posts=args.consistent)
        results.append({"job": job["sk"], "complete": outcome["complete"], "deleted": outcome["deleted"], "remaining": outcome["remaining"]})
    print(json.dumps({"region": args.region, "zones": zones, "resumed": results}, indent=2))
    return 0 if all(r["complete"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
