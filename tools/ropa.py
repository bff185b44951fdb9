"""Record of processing (GDPR Art. 30), derived from the program, never hand-written.

    python -m tools.ropa                 # Markdown for every shipped stack (what docs/record-of-processing.md holds)
    python -m tools.ropa --stack global  # one stack
    python -m tools.ropa --json          # machine-readable
    python -m tools.ropa --write         # regenerate docs/record-of-processing.md
    python -m tools.ropa --check         # exit 1 if docs/record-of-processing.md is stale

Runs every stack under mocks (`offline.stack_runner.run_stack`) and lists, per data class, each
data-bearing resource the program registers: where it lives (its region and its replicas'), the
customer-managed key that encrypts it, how long data is kept and the backup (PITR) window. Field
encryption keys are listed per residency zone: where restricted fields can be decrypted.
Exit 2 on a configuration or program error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from components.errors import ConfigError  # noqa: E402
from components.table_spec import AWS_DEFAULT_PITR_RECOVERY_DAYS  # noqa: E402

DOC = ROOT / "docs" / "record-of-processing.md"
CLASS_ORDER = ("restricted", "key-material", "personal", "public", None)
KIND = {
    "aws:dynamodb/table:Table": "DynamoDB table",
    "aws:dynamodb/tableReplica:TableReplica": "DynamoDB table replica",
    "aws:sqs/queue:Queue": "SQS queue",
    "aws:cloudwatch/logGroup:LogGroup": "CloudWatch log group",
    "aws:s3/bucket:Bucket": "S3 bucket",
    "aws:s3/bucketV2:BucketV2": "S3 bucket",
    "aws:sns/topic:Topic": "SNS topic",
    "aws:kinesis/stream:Stream": "Kinesis stream",
}


def _num(value):
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _key_index(run) -> dict[str, str]:
    """Key ARN / id -> 'logical name (purpose)' for the stack's KMS keys and replica keys."""
    index: dict[str, str] = {}
    for r in run.resources:
        if r.type not in ("aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey"):
            continue
        tags = r.props.get("tags") or {}
        label = r.name + (f" ({tags['purpose']})" if tags.get("purpose") else "")
        for value in (r.outputs.get("arn"), r.outputs.get("keyId"), r.outputs.get("id"), r.urn):
            if value:
                index[str(value)] = label
    return index


def _key(value, keys: dict[str, str]) -> str:
    if not value:
        return "AWS-owned/managed key (no CMK)"
    return keys.get(str(value), str(value))


def _retention(r) -> str:
    p = r.props
    if r.type == "aws:cloudwatch/logGroup:LogGroup":
        days = p.get("retentionInDays")
        return f"{_num(days)} days" if days else "forever (no retention set)"
    if r.type == "aws:sqs/queue:Queue":
        seconds = _num(p.get("messageRetentionSeconds") or 345600)
        return f"{seconds} s ({seconds / 86400:g} days)"
    if r.type in ("aws:dynamodb/table:Table", "aws:dynamodb/tableReplica:TableReplica"):
        from policy.rules._common import holds_subject_keys

        if holds_subject_keys(r.type, p) is not None:
            return ("until the subject is erased: erasure overwrites every region's copy of its key, which makes every "
                    "copy of its data unreadable (crypto-shredding)")
        ttl = p.get("ttl") or {}
        if ttl.get("enabled") and ttl.get("attributeName"):
            return f"until item TTL `{ttl['attributeName']}` or erasure"
        return "until erased (Art. 17 erasure propagates to every replica)"
    return "-"


def _backup(r, tables_by_name: dict) -> str:
    p = r.props
    if r.type == "aws:dynamodb/table:Table":
        pitr = p.get("pointInTimeRecovery") or {}
        if not pitr.get("enabled"):
            return "none (PITR off)"
        return f"PITR {_num(pitr.get('recoveryPeriodInDays') or AWS_DEFAULT_PITR_RECOVERY_DAYS)} days"
    if r.type == "aws:dynamodb/tableReplica:TableReplica":
        # A replica keeps its own PITR window, which the provider cannot set yet
        # (hashicorp/terraform-provider-aws#41504): AWS's default applies until an operator sets it.
        return (f"PITR {AWS_DEFAULT_PITR_RECOVERY_DAYS} days (AWS default for a replica; README, Backups)"
                if p.get("pointInTimeRecovery") else "none (PITR off)")
    return "none"


def _regions(run, r) -> list[str]:
    own = run.region_of(r)
    regions = [own] + [x.get("regionName") for x in (r.props.get("replicas") or []) if x.get("regionName")]
    return regions


def _physical(r) -> str:
    return str(r.props.get("name") or r.name)


def record_for(run) -> dict:
    from policy.rules._common import DATA_BEARING

    keys = _key_index(run)
    tables = {str(r.props.get("name")): r for r in run.resources if r.type == "aws:dynamodb/table:Table"}
    entries = []
    for r in run.resources:
        if r.type not in DATA_BEARING:
            continue
        tags = r.props.get("tags") or {}
        p = r.props
        key = {"aws:dynamodb/table:Table": (p.get("serverSideEncryption") or {}).get("kmsKeyArn"),
               "aws:dynamodb/tableReplica:TableReplica": p.get("kmsKeyArn"),
               "aws:sqs/queue:Queue": p.get("kmsMasterKeyId"),
               "aws:cloudwatch/logGroup:LogGroup": p.get("kmsKeyId"),
               "aws:sns/topic:Topic": p.get("kmsMasterKeyId")}.get(r.type)
        name = _physical(r)
        if r.type == "aws:dynamodb/tableReplica:TableReplica":
            name = str(p.get("globalTableArn") or name).rsplit("/", 1)[-1] + " (replica)"
        entries.append({
            "dataClass": tags.get("data-class"), "zone": tags.get("residency-zone"), "resource": r.name,
            "name": name, "kind": KIND.get(r.type, r.type), "regions": _regions(run, r),
            "key": _key(key, keys), "retention": _retention(r), "backup": _backup(r, tables),
            "table": str(p.get("globalTableArn") or "").rsplit("/", 1)[-1] if r.type == "aws:dynamodb/tableReplica:TableReplica"
            else (name if r.type == "aws:dynamodb/table:Table" else None),
        })
    field_keys = []
    for r in run.resources:
        tags = r.props.get("tags") or {}
        if r.type in ("aws:kms/key:Key", "aws:kms/replicaKey:ReplicaKey") and tags.get("purpose") in ("field-encryption", "subject-key-wrapping", "subject-reference"):
            field_keys.append({"zone": tags.get("residency-zone"), "resource": r.name, "region": run.region_of(r), "purpose": tags["purpose"],
                               "kind": "primary" if r.type == "aws:kms/key:Key" else "replica",
                               "spec": r.props.get("keySpec") or r.props.get("customerMasterKeySpec")
                               or ("spec of the primary" if r.type != "aws:kms/key:Key" else "SYMMETRIC_DEFAULT")})
    field_keys.sort(key=lambda k: (k["zone"] or "", k["kind"] != "primary", k["region"] or "", k["resource"]))
    entries.sort(key=lambda e: (CLASS_ORDER.index(e["dataClass"]) if e["dataClass"] in CLASS_ORDER else 9, e["kind"], e["name"], e["resource"]))
    return {"stack": run.stack, "role": run.config.get("appx:role"), "region": run.config.get("aws:region"),
            "entries": entries, "fieldKeys": field_keys}


def build(stacks: list[str], root: Path = ROOT) -> list[dict]:
    from tools.preview import run_program

    return [record_for(run_program(s, root)[0]) for s in stacks]


def global_tables(records: list[dict]) -> dict[str, dict]:
    """Table name -> data class, zone and every region holding a copy, across stacks."""
    tables: dict[str, dict] = {}
    for rec in records:
        for e in rec["entries"]:
            if not e.get("table"):
                continue
            t = tables.setdefault(e["table"], {"dataClass": e["dataClass"], "zone": e["zone"], "regions": {}})
            for i, region in enumerate(e["regions"]):
                role = "table" if e["kind"] == "DynamoDB table" and i == 0 else "replica"
                t["regions"][region] = f"{role}, stack {rec['stack']}"
    return tables


def render_markdown(records: list[dict]) -> str:
    from components.residency import RESIDENCY_FILE, load_residency

    residency = load_residency(ROOT / RESIDENCY_FILE)
    out = ["# Record of processing (GDPR Art. 30)", "",
           "Generated by `python -m tools.ropa --write` from the resources the Pulumi program registers for each "
           "shipped stack (run under mocks from the real `Pulumi.<stack>.yaml`). Do not edit by hand: "
           "`python -m tools.ropa --check` fails when this file is stale.", "",
           "Data classes: **restricted** (direct identifiers, contact data; pinned to a residency zone, "
           "field-encrypted at the edge and stored sealed under each subject's own key), **key-material** (those "
           "per-subject keys, wrapped by the zone's KMS key; pinned to the zone, never backed up, so erasure "
           "destroys every copy of the subject's data at once; see docs/token-format.md), **personal** "
           "(pseudonymous user content; anywhere in the EU), **public** (no personal data).", "",
           "Residency zones (`residency.yaml`): " + "; ".join(f"`{z.name}` = {', '.join(z.regions)}"
                                                            for z in residency.zones.values()) + ".", "",
           "Edge processing (`residency.yaml` `edgeRegions`): the Lambda@Edge function sees restricted fields in "
           "plaintext before encrypting them and runs in the region of the CloudFront regional edge cache serving "
           f"the viewer. Decided edge regions: {', '.join(residency.edge_regions)}; its log groups are pre-created "
           "there (bounded retention, a CMK of the region) and its role may write logs nowhere else; countries whose "
           "known edge cache is outside them are not whitelisted (policy `edge-function-logs-where-it-runs`).", ""]
    summary: dict[str, set] = defaultdict(set)
    for rec in records:
        for e in rec["entries"]:
            summary[e["dataClass"] or "unclassified"].update(e["regions"])
    out += ["## Where each data class lives (all stacks)", "", "| data class | regions |", "|---|---|"]
    for cls in [c for c in ("restricted", "key-material", "personal", "public", "unclassified") if c in summary]:
        out.append(f"| {cls} | {', '.join(sorted(summary[cls]))} |")
    out.append("")
    tables = global_tables(records)
    if tables:
        out += ["## DynamoDB tables and their copies (all stacks)", "", "| table | data class | regions holding a copy |",
                "|---|---|---|"]
        for name in sorted(tables, key=lambda n: (CLASS_ORDER.index(tables[n]["dataClass"]) if tables[n]["dataClass"] in CLASS_ORDER else 9, n)):
            t = tables[name]
            cls = (t["dataClass"] or "unclassified") + (f" (zone `{t['zone']}`)" if t["zone"] else "")
            where = "; ".join(f"{region} ({how})" for region, how in t["regions"].items())
            out.append(f"| `{name}` | {cls} | {where} |")
        out.append("")
    out += erasure_section(records)
    for rec in records:
        out += [f"## Stack `{rec['stack']}` ({rec['role']}, aws:region {rec['region']})", ""]
        if rec["entries"]:
            out += ["| data class | resource | kind | regions | key | retention | backup window |",
                    "|---|---|---|---|---|---|---|"]
            for e in rec["entries"]:
                cls = (e["dataClass"] or "**unclassified**") + (f" (zone `{e['zone']}`)" if e["zone"] else "")
                out.append(f"| {cls} | `{e['name']}` | {e['kind']} | {', '.join(e['regions'])} | {e['key']} | "
                           f"{e['retention']} | {e['backup']} |")
        else:
            out.append("No data-bearing resources.")
        if rec["fieldKeys"]:
            out += ["", "Zone keys (restricted fields and subject keys can be decrypted, and subject references computed, only where these exist):", ""]
            for k in rec["fieldKeys"]:
                out.append(f"- zone `{k['zone']}`: `{k['resource']}` ({k['purpose']}, {k['kind']}, {k['spec']}) in {k['region']}")
        out.append("")
    return "\n".join(out)


def _days(seconds: int) -> str:
    return f"{seconds / 86400:g} days"


def erasure_section(records: list[dict]) -> list[str]:
    """What erasure (Art. 17) means for every kind of copy, with the windows of this program."""
    from components.config import load_project
    from components.erasure_windows import (JOB_BOUND_SECONDS, MARGIN_SECONDS, SETTLE_SECONDS, STREAM_RETENTION_SECONDS,
                                            SWEEP_MINUTES, erasure_windows)

    windows = erasure_windows(load_project(ROOT))
    entries = [e for rec in records for e in rec["entries"]]
    pitr = sorted({e["backup"] for e in entries if e["backup"].startswith("PITR")})
    queues = sorted({f"`{e['name']}` {e['retention']}" for e in entries if e["kind"] == "SQS queue"})
    return [
        "## What erasure (Art. 17) means for each copy", "",
        f"`DELETE /v1/me` commits one transaction in the zone's restricted table: a **tombstone** (a keyed HMAC of the "
        f"user id under the zone's KMS HMAC key, no other data), an **erasure job** and the profile's deletion. Every "
        f"writer checks the tombstone in the same transaction as its write, so a redelivered or redriven write of the "
        f"subject is dropped and counted (`AppX/ErasedSubjectWritesDropped`). The job is retried (stream, then a sweeper "
        f"every {SWEEP_MINUTES} minutes in every region of the zone) until verified complete, at the earliest "
        f"{SETTLE_SECONDS} s after the tombstone; an alarm fires when a job is older than {_days(JOB_BOUND_SECONDS)} "
        f"({JOB_BOUND_SECONDS} s). `python -m tools.erasure list|resume` lists and resumes jobs; "
        f"`python -m tools.erasure reapply` re-applies every erasure to a table restored from a backup.", "",
        "| copy | what erasure does | how long a copy can outlive it |", "|---|---|---|",
        "| subject-key store (a plain table in every region of the zone, no stream, no backup) | first of all, every "
        "region's copy of the subject's key is overwritten by a marker; from then on no copy of the subject's data "
        "anywhere can be opened | none; a region unreachable at that moment keeps its copy until it is back and the "
        "job re-shreds it |",
        "| restricted table and its zone replicas | the job deletes the profile, tokens and the job itself; the tombstone stays | "
        f"tombstone: {windows.tombstone_seconds} s ({_days(windows.tombstone_seconds)}, TTL) |",
        "| posts (EU-wide replicas) and each region's feed projection | the job deletes every post of the pseudonym (index "
        "`byAuthor`, re-verified after the settle window) and the feed entries; markers (a hash of the pseudonym, hashed feed keys) "
        "let every region's stream consumer and sweeper delete late copies | markers: TTL, as long as the tombstone |",
        "| idempotency records | the job deletes them (index `bySubject`, keyed by the subject reference) | none after the job |",
        f"| DynamoDB streams | records cannot be deleted; a consumer acting on one after the erasure finds the tombstone or the erased-author marker | {STREAM_RETENTION_SECONDS} s (24 h) |",
        f"| queues and DLQs ({'; '.join(queues)}) | messages cannot be deleted selectively; a delivered or redriven message of the subject is dropped by the tombstone check | "
        f"queue retention, DLQ retention ({_days(windows.dlq_retention_seconds)}) plus one redrive ({_days(windows.redrive_seconds)}) |",
        f"| backups ({', '.join(pitr) or 'none'}) | point-in-time copies cannot be edited; they expire with the recovery window; "
        "ciphertext in them stays unreadable (the subject key is gone). A restore goes to a new table, and "
        "`python -m tools.erasure reapply` deletes from it every item of a subject erased since its restore point (the "
        "tombstones and markers outlive every window) before it replaces anything (README, Restoring a backup) | the PITR window |",
        "",
        f"The tombstone's lifetime ({windows.tombstone_seconds} s, {_days(windows.tombstone_seconds)}) = the longer of the "
        f"delivery window ({windows.delivery_seconds} s: DLQ retention {windows.dlq_retention_seconds} s + one redrive "
        f"{windows.redrive_seconds} s + stream retention {STREAM_RETENTION_SECONDS} s) and the longest PITR window of any "
        f"table or replica that can hold a subject's items ({windows.pitr_recovery_seconds} s, {_days(windows.pitr_recovery_seconds)}), "
        f"plus a margin of {MARGIN_SECONDS} s, over every cell (`components/erasure_windows.py`; policy `erasure-outlives-backups`). "
        "The erased-author and erased-post markers in `appx-posts` live as long.", "",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.ropa", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", action="append", help="only this stack (repeatable); default: every shipped stack")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--json", action="store_true")
    mode.add_argument("--write", action="store_true", help=f"write {DOC.relative_to(ROOT)}")
    mode.add_argument("--check", action="store_true", help=f"exit 1 if {DOC.relative_to(ROOT)} is stale")
    args = parser.parse_args(argv)
    from tools.preview import _quiet_runtime_noise, shipped_stack_names

    _quiet_runtime_noise()
    try:
        stacks = args.stack or shipped_stack_names()
        records = build(stacks)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        cause = exc.__cause__ or exc
        print(f"error: {type(cause).__name__}: {cause}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    text = render_markdown(records)
    if args.write:
        DOC.write_text(text)
        print(f"wrote {DOC.relative_to(ROOT)}")
    elif args.check:
        if not DOC.exists() or DOC.read_text() != text:
            print(f"{DOC.relative_to(ROOT)} is stale: run `python -m tools.ropa --write`", file=sys.stderr)
            return 1
        print(f"{DOC.relative_to(ROOT)} is up to date")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
