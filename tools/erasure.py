"""Erasure jobs and restores (GDPR Art. 17): `python -m tools.erasure list|resume|reapply|copyback`.

    python -m tools.erasure list   --region eu-west-1 [--zone eu]            # AWS (boto3 credentials)
    python -m tools.erasure resume --region eu-west-1 [--zone eu] [--job REF] [--consistent]
    python -m tools.erasure reapply --region eu-west-1 --table appx-posts-restored --as appx-posts [--apply]
    python -m tools.erasure copyback --region eu-west-1 --table appx-posts-restored --as appx-posts [--apply]
    python -m tools.erasure list   --local [--state-dir DIR] --region eu-west-1   # the running local stack

A job is a row of the zone's restricted table (``ERASURE-JOB`` / subject reference) written with
the tombstone; it is deleted once verified complete (appx_common.erasure). ``list`` prints the
pending jobs as JSON (subject reference, age, attempts, what remained at the last attempt; never
the user id). ``resume`` runs them now, in this region, exactly as the scheduled sweeper does;
``--consistent`` finds posts by a strongly consistent table scan instead of the ``byAuthor``
index (for audits; reads the whole posts table). Exit 1 when a resumed job is still incomplete.

``reapply`` makes a table restored from a point-in-time backup (``--table``, in ``--region``)
forget every subject erased since its restore point: it reads the live tombstones, jobs and
markers of every zone (appx_common.reapply; scans the zones' restricted tables and the posts
table) and deletes from the restored table every item of an erased subject, matched as the
erasure job matches it, for the layout of the live table named by ``--as``. It also copies the
live erasure records the restored table misses (tombstones, jobs, markers). Dry run unless
``--apply``; prints counts per kind of item, never a user id. Exit 1 when a dry run found work.

``copyback`` (same arguments) is the swap: it refuses a restored table that still holds an item of
an erased subject (run ``reapply --apply`` first), copies into the live table ``--as`` every item it lacks (conditional puts: a newer live
item wins; sessions and sign-up replies never come back), then re-applies to the live table the
erasures committed meanwhile. Dry run unless ``--apply``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions"))

from appx_common.config import RegionConfig  # noqa: E402
from appx_common.erasure import ErasureJobs  # noqa: E402
from appx_common.reapply import copy_back, read_erasures, reapply  # noqa: E402
from appx_common.store import Store  # noqa: E402
from appx_common.subjects import SubjectRefs, kms_loader, local_loader  # noqa: E402

if TYPE_CHECKING:
    from components.table_spec import TableSpec


def _no_key(zone: str) -> bytes:
    raise RuntimeError("jobs, tombstones and markers are read by reference: no subject reference is computed here")


def store_for(region: str, zones: list[str], dynamodb_for, residency) -> Store:
    """The functions' store in `region` for `zones`; `dynamodb_for(region)` reaches any region (the
    zone's subject-key store has a copy in each of its regions: appx_common.key_store)."""
    cfg = RegionConfig(region=region, zones={z: {"table": f"appx-restricted-{z}", "keysTable": f"appx-subject-keys-{z}",
                                                 "keyStoreRegions": list(residency.zones[z].regions)} for z in zones})
    return Store(cfg, dynamodb_for(region), SubjectRefs(_no_key), zone_dynamodb=dynamodb_for)


def jobs_for(region: str, zones: list[str], dynamodb_for, residency) -> ErasureJobs:
    return ErasureJobs(store_for(region, zones, dynamodb_for, residency))


def describe(job: dict, now: float) -> dict:
    return {"job": job["sk"], "zone": job.get("zone"), "startedIn": job.get("region"),
            "ageSeconds": int(now - int(job.get("createdAt", now))), "attempts": int(job.get("attempts", 0)),
            "lastAttemptAt": int(job["lastAttemptAt"]) if "lastAttemptAt" in job else None,
            "remaining": {k: int(v) for k, v in (job.get("remaining") or {}).items()}}


def restorable_tables(residency, region: str) -> dict[str, tuple[str, str | None, "TableSpec"]]:
    """Live table name -> (kind, zone, layout) of every table in ``region`` that PITR backs up
    and that can hold a subject's items (key stores have no backups: PITR off)."""
    from components.tables import FEED, IDEMPOTENCY, POSTS, restricted_table

    tables = {spec.name: (kind, None, spec) for kind, spec in (("posts", POSTS), ("feed", FEED), ("idempotency", IDEMPOTENCY))}
    tables.update({restricted_table(z).name: ("restricted", z.name, restricted_table(z)) for z in residency.zones_in(region)})
    return {name: entry for name, entry in tables.items() if entry[2].point_in_time_recovery}


def key_names_of(dynamodb, table: str, region: str) -> tuple[str, ...] | str:
    """The table's key attribute names (hash, range), or an error message."""
    from botocore.exceptions import ClientError

    try:
        schema = dynamodb.meta.client.describe_table(TableName=table)["Table"]["KeySchema"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return f"--table {table}: no such table in {region} (restore the backup there first)"
        raise
    return tuple(k["AttributeName"] for k in sorted(schema, key=lambda k: k["KeyType"] != "HASH"))


def run_reapply(args, residency, dynamodb_for, subject_refs) -> int:
    """``reapply`` and ``copyback`` (which re-checks the restored table, copies, then re-applies
    to the live table the erasures committed meanwhile)."""
    tables = restorable_tables(residency, args.region)
    if args.table is None or args.as_table not in tables:
        given = "--table (missing)" if args.table is None else f"--as {args.as_table or '(missing)'}"
        print(f"error: {given}: {args.command} needs --table <restored table> and --as <the live table whose layout it has> "
              f"(allowed --as in {args.region}: {', '.join(sorted(tables))})", file=sys.stderr)
        return 2
    kind, zone, spec = tables[args.as_table]
    ddb = dynamodb_for(args.region)
    key_names = key_names_of(ddb, args.table, args.region)
    if isinstance(key_names, str):
        print(f"error: {key_names}", file=sys.stderr)
        return 2
    expected = (spec.hash_key, *([spec.range_key] if spec.range_key else []))
    if key_names != expected:
        print(f"error: --table {args.table} is keyed ({', '.join(key_names)}), not like --as {args.as_table} "
              f"({', '.join(expected)})", file=sys.stderr)
        return 2
    if args.command == "copyback" and args.table == args.as_table:
        print(f"error: --table {args.table}: copyback copies a restored table into --as, not a table into itself", file=sys.stderr)
        return 2
    # Every zone's tombstones, read in a region of the zone (this one when it serves the zone).
    read_in = {z.name: args.region if args.region in z.regions else z.home_region for z in residency.zones.values()}

    def live_erasures():
        return read_erasures({z: store_for(r, [z], dynamodb_for, residency) for z, r in read_in.items()},
                             store_for(args.region, [], dynamodb_for, residency))

    erasures = live_erasures()
    refs = subject_refs(zone) if zone else SubjectRefs(_no_key)
    report = {"region": args.region, "table": args.table, "as": args.as_table, "applied": args.apply,
              "liveErasures": erasures.counts()}
    outcome = reapply(ddb.Table(args.table), kind, key_names, erasures, refs, zone=zone,
                      apply=args.apply and args.command == "reapply")
    found = sum(outcome["erased"].values()) + outcome["erasureRecordsCopied"]
    if args.command == "reapply":
        print(json.dumps({**report, **outcome}, indent=2))
        return 0 if args.apply or not found else 1
    if outcome["erased"]:  # (erasure records it lacks do not matter here: the live table has them)
        print(f"error: --table {args.table} still holds {sum(outcome['erased'].values())} item(s) of subjects erased since "
              "its restore point: run `reapply --apply` on it first", file=sys.stderr)
        return 2
    report["copyBack"] = copy_back(ddb.Table(args.table), ddb.Table(args.as_table), kind, key_names, apply=args.apply)
    if args.apply:  # erasures committed while copying: their tombstones exist now
        report["liveReapplied"] = reapply(ddb.Table(args.as_table), kind, key_names, live_erasures(), refs, zone=zone, apply=True)["erased"]
    print(json.dumps(report, indent=2))
    return 0


def main(argv: list[str] | None = None, dynamodb=None, subject_refs=None) -> int:
    """``dynamodb`` (one resource for every region) and ``subject_refs`` (zone -> SubjectRefs)
    replace the AWS clients in tests."""
    parser = argparse.ArgumentParser(prog="python -m tools.erasure", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("list", "resume", "reapply", "copyback"))
    parser.add_argument("--region", required=True, help="a region of the zone(s); reapply: the region of the restored table")
    parser.add_argument("--zone", action="append", help="residency zone (repeatable; default: every zone listing --region)")
    parser.add_argument("--job", help="resume only this job (its subject reference, as `list` prints it)")
    parser.add_argument("--consistent", action="store_true", help="find posts by a consistent scan, not the index")
    parser.add_argument("--table", help="reapply/copyback: the table restored from a point-in-time backup")
    parser.add_argument("--as", dest="as_table", metavar="LIVE_TABLE",
                        help="reapply/copyback: the live table it is a copy of (appx-posts, appx-feed, appx-idempotency, appx-restricted-<zone>)")
    parser.add_argument("--apply", action="store_true", help="reapply/copyback: write (default: a dry run that only counts)")
    parser.add_argument("--local", action="store_true", help="the running local stack (tools.local) instead of AWS")
    parser.add_argument("--state-dir", type=Path, default=None, help="the local stack's state dir (default .local-runtime/)")
    args = parser.parse_args(argv)

    from components.residency import RESIDENCY_FILE, load_residency

    residency = load_residency(ROOT / RESIDENCY_FILE)
    restoring = args.command in ("reapply", "copyback")
    if not restoring and (args.table or args.as_table or args.apply):
        print(f"error: --table, --as and --apply belong to reapply and copyback, not {args.command}", file=sys.stderr)
        return 2
    if restoring and (args.zone or args.job or args.consistent):
        print(f"error: --zone, --job and --consistent belong to list/resume: {args.command} reads the erasures of every zone", file=sys.stderr)
        return 2
    zones = args.zone or [z.name for z in residency.zones.values() if args.region in z.regions]
    unknown = [z for z in zones if z not in residency.zones or args.region not in residency.zones[z].regions]
    if unknown or not zones:  # reapply too: a region without a zone has no cell, hence no tables
        print(f"error: --zone {', '.join(unknown) or '(none)'}: not a zone of {RESIDENCY_FILE} that lists {args.region} "
              f"(allowed: {', '.join(z.name for z in residency.zones.values() if args.region in z.regions) or 'none'})", file=sys.stderr)
        return 2
    state = None
    if args.local:
        from tools.local.runtime import read_state

        state = read_state(args.state_dir)
    resources: dict[str, object] = {}

    def dynamodb_for(region: str):
        if dynamodb is not None:
            return dynamodb
        if region not in resources:
            import boto3

            from appx_common.aws import DEFAULT

            kwargs = {}
            if state is not None:
                from tools.local.aws import CREDENTIALS

                kwargs = {"endpoint_url": state["moto"], **CREDENTIALS}
            resources[region] = boto3.resource("dynamodb", region_name=region, config=DEFAULT, **kwargs)
        return resources[region]

    if restoring:
        return run_reapply(args, residency, dynamodb_for, subject_refs or default_subject_refs(args.region, state))
    jobs = jobs_for(args.region, zones, dynamodb_for, residency)
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


def default_subject_refs(region: str, local_state: dict | None):
    """zone -> the zone's subject references, keyed as the functions key them: the local stack's
    key files, or the zone's KMS HMAC key by alias (replicated in every region of the zone)."""
    if local_state is not None:
        return lambda zone: SubjectRefs(local_loader(Path(local_state["keys"]) / region))

    def kms_refs(zone: str) -> SubjectRefs:
        import boto3

        from appx_common.aws import DEFAULT
        from components.zone_key import SUBJECT_REFERENCE

        return SubjectRefs(kms_loader({zone: {"macKeyArn": SUBJECT_REFERENCE.alias(zone)}},
                                      lambda: boto3.client("kms", region_name=region, config=DEFAULT)))

    return kms_refs


if __name__ == "__main__":
    sys.exit(main())
