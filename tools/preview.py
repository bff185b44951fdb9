"""Offline `pulumi preview --policy-pack policy`: no Pulumi CLI, no AWS account.

    python -m tools.preview --stack eu-west-1        # one stack (repeatable)
    python -m tools.preview --all                    # every shipped Pulumi.<stack>.yaml, in deploy order
    python -m tools.preview --all --json             # machine-readable
    python -m tools.preview --all --policy-config cfg.json   # like --policy-pack-config
    python -m tools.preview --all --mode preview     # as a first-deploy `pulumi preview` sees it

`--mode update` (default) evaluates what an update of a deployed stack sees (every value known);
`--mode preview` what CI's `pulumi preview --policy-pack policy` sees before the stack's first
deploy: outputs of the resources the stack creates are unknown (`offline.stack_runner`, mode
"preview"), and pulumi-policy skips any rule that reads one. Skipped evaluations are listed per
rule with the unknown property; any skip of a mandatory rule fails the run, since CI would let
that resource through unchecked.

Runs the stack program under Pulumi mocks from its real YAML (`offline.stack_runner.run_stack`),
evaluates the real `appx-gdpr` pack through pulumi-policy's analyzer servicer (remediations first,
then resource and stack validations, enforcement levels honoured, see `policy/analyzer.py`), and
prints the resources by type with region and data class, then every violation naming resource,
rule, level and fix.

Exit status: 0 clean (advisories allowed), 1 any mandatory violation or skipped mandatory
evaluation, 2 configuration or program error (its message, no traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import warnings
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from components.errors import ConfigError  # noqa: E402

EXIT_OK, EXIT_VIOLATIONS, EXIT_ERROR = 0, 1, 2


def shipped_stack_names(root: Path = ROOT) -> list[str]:
    """Stacks with a Pulumi.<stack>.yaml, cells that home a zone first, global last."""
    from components.config import load_project

    return load_project(root).deploy_order()


def _quiet_runtime_noise() -> None:
    # Mock runs can leave never-awaited RPC tasks at loop close; that is no finding of the preview.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", category=RuntimeWarning, message=r"coroutine .* was never awaited")


def describe(resource) -> dict:
    """Region (as AWS resolves it) and classification of an analyzer resource."""
    from policy.rules._common import DATA_CLASS_TAG, GLOBAL_TYPE_PREFIXES, ZONE_TAG, region_of, tags_of

    custom = resource.type.startswith("aws:")
    tags = tags_of(resource.props)
    region = region_of(resource.props, resource.provider) if custom else None
    if custom and resource.type.startswith(GLOBAL_TYPE_PREFIXES):
        region = "global"  # IAM, Route 53, CloudFront: no regional data plane
    return {
        "urn": resource.urn, "type": resource.type, "name": resource.name,
        "region": region,
        "dataClass": tags.get(DATA_CLASS_TAG), "zone": tags.get(ZONE_TAG),
    }


def split_fix(message: str) -> tuple[str, str]:
    head, sep, fix = message.partition(" Fix: ")
    return (head, fix) if sep else (message, "")


class _ProgramLog(logging.Handler):
    """Collects what the program logs through pulumi.log (the mock engine logs to the root logger)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = f"{record.levelname.lower()}: {record.getMessage()}"
        if message not in self.messages:
            self.messages.append(message)


def run_program(stack: str, root: Path = ROOT, mode: str = "update"):
    """run_stack, with the program's warnings collected instead of printed (returns run, warnings)."""
    from offline.stack_runner import run_stack

    handler = _ProgramLog()
    logger = logging.getLogger()
    previous = list(logger.handlers)
    logger.handlers = [handler]
    try:
        return run_stack(stack, root, mode=mode), handler.messages
    finally:
        logger.handlers = previous


def skipped_report(skipped, analyzer) -> list[dict]:
    """Skipped evaluations, one entry per rule: its level and every (resource, unknown property)."""
    by_policy: dict[str, list] = defaultdict(list)
    for s in skipped:
        by_policy[s.policy].append(s)
    return [{
        "policy": name, "level": analyzer.config.get(name, {}).get("enforcementLevel"),
        "evaluations": [{"urn": s.urn or None, "resource": s.urn.split("::")[-1] if s.urn else None,
                         "stackPolicy": not s.urn, "property": s.property, "valueType": s.value_type,
                         "remediation": s.remediation} for s in entries],
    } for name, entries in sorted(by_policy.items())]


def preview_stack(stack: str, analyzer, root: Path = ROOT, mode: str = "update") -> dict:
    from policy.analyzer import from_stack_run
    from policy.rules import BY_NAME

    run, program_warnings = run_program(stack, root, mode)
    resources = from_stack_run(run)
    result = analyzer.evaluate(resources)
    skipped = skipped_report(result.skipped, analyzer)
    skipped_mandatory = sum(len(s["evaluations"]) for s in skipped if s["level"] in ("mandatory", "remediate"))
    described = [describe(r) for r in result.resources if not r.type.startswith("pulumi:")]
    violations = []
    for d in result.diagnostics:
        problem, fix = split_fix(d.message)
        policy = BY_NAME.get(d.policy)
        violations.append({
            "policy": d.policy, "level": d.level, "severity": d.severity, "urn": d.urn,
            "resource": d.resource_name if d.urn else None, "type": d.resource_type or None,
            "message": problem, "fix": fix or (policy.remediation_steps if policy else ""),
            "article": policy.framework.reference if policy else None, "stackPolicy": d.stack_policy,
        })
    return {
        "stack": stack, "mode": mode, "region": run.config.get("aws:region"), "role": run.config.get("appx:role"),
        "resources": described,
        "violations": violations,
        "skipped": skipped, "skippedMandatory": skipped_mandatory,
        "remediations": [{"policy": m.policy, "urn": m.urn, "resource": m.urn.split("::")[-1], "changed": m.changed()}
                         for m in result.remediations],
        "programWarnings": program_warnings,
        "mandatory": len(result.mandatory), "advisory": len(result.advisory),
        "passed": not result.mandatory and not skipped_mandatory,
    }


def render(report: dict, pack: str, policies: int) -> str:
    lines = [f"Stack {report['stack']} ({report['role']}, aws:region {report['region']}, {report['mode']}): "
             f"{len(report['resources'])} resources, policy pack {pack} ({policies} policies)"]
    by_type: dict[str, list[dict]] = defaultdict(list)
    for r in report["resources"]:
        by_type[r["type"]].append(r)
    for typ in sorted(by_type):
        if not typ.startswith("aws:"):
            continue
        lines.append(f"  {typ} ({len(by_type[typ])})")
        for r in sorted(by_type[typ], key=lambda r: r["name"]):
            cls = r["dataClass"] or "-"
            if r["zone"]:
                cls += f" (zone {r['zone']})"
            lines.append(f"    {r['name']:<66} {r['region'] or '?':<13} {cls}")
    components = sum(len(v) for t, v in by_type.items() if not t.startswith("aws:"))
    if components:
        lines.append(f"  + {components} component resources")
    for w in report.get("programWarnings", []):
        lines.append(f"  program {w}")
    for m in report["remediations"]:
        lines.append(f"  remediated  {m['resource']} by {m['policy']}: set {json.dumps(m['changed'], sort_keys=True)}")
    if report["violations"]:
        lines.append("  Policy violations:")
        for v in sorted(report["violations"], key=lambda v: (v["level"] != "mandatory", v["policy"], v["urn"])):
            lines.append(f"    [{v['level']}] {v['policy']} ({v['severity']}, GDPR {v['article']})")
            lines.append(f"      {v['message']}")
            lines.append(f"      fix: {v['fix']}")
    if report["skipped"]:
        lines.append("  Skipped evaluations (a value the rule reads is unknown at this point; CI lets it through):")
        for s in report["skipped"]:
            lines.append(f"    [{s['level']}] {s['policy']}: {len(s['evaluations'])} evaluation(s)")
            for e in s["evaluations"]:
                what = e["resource"] or "<whole stack>"
                lines.append(f"      {what}: {e['valueType']} {e['property']} unknown"
                             + (" (remediation)" if e["remediation"] else ""))
    verdict = "PASS" if report["passed"] else "FAIL"
    lines.append(f"  {verdict}: {report['mandatory']} mandatory, {report['advisory']} advisory violation(s), "
                 f"{sum(len(s['evaluations']) for s in report['skipped'])} skipped "
                 f"({report['skippedMandatory']} mandatory), {len(report['remediations'])} remediation(s)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.preview", description=__doc__.splitlines()[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack", action="append", help="stack name (Pulumi.<stack>.yaml); repeatable")
    target.add_argument("--all", action="store_true", help="every shipped stack")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--mode", choices=("update", "preview"), default="update",
                        help="update: a deployed stack, every value known (default); preview: a first-deploy "
                             "`pulumi preview`, outputs of created resources unknown")
    parser.add_argument("--policy-config", type=Path, help="JSON policy pack config (as for --policy-pack-config)")
    parser.add_argument("--root", type=Path, default=ROOT, help="project directory with the Pulumi.*.yaml files")
    args = parser.parse_args(argv)
    _quiet_runtime_noise()

    try:
        from policy.analyzer import OfflineAnalyzer

        policy_config = json.loads(args.policy_config.read_text()) if args.policy_config else None
        analyzer = OfflineAnalyzer(policy_config)
        known_order = shipped_stack_names(args.root)
        stacks = known_order if args.all else args.stack
        known = set(known_order)
        unknown = [s for s in stacks if s not in known]
        if unknown:
            raise ConfigError(f"Pulumi.{unknown[0]}.yaml", "<file>", "no such stack file", sorted(known))
        reports = [preview_stack(s, analyzer, args.root, args.mode) for s in stacks]
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except (OSError, ValueError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # the stack program itself failed: report it like `pulumi preview` would
        cause = exc.__cause__ or exc
        if isinstance(cause, ConfigError):
            print(f"error: {cause}", file=sys.stderr)
        else:
            print(f"error: the stack program failed: {type(cause).__name__}: {cause}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        asyncio.set_event_loop(None)

    passed = all(r["passed"] for r in reports)
    try:
        _print(args, reports, analyzer, passed)
    except BrokenPipeError:  # e.g. piped into head
        sys.stdout = None  # type: ignore[assignment]
    return EXIT_OK if passed else EXIT_VIOLATIONS


def _print(args, reports, analyzer, passed) -> None:
    if args.json:
        print(json.dumps({"policyPack": analyzer.pack_name, "mode": args.mode, "passed": passed, "stacks": reports},
                         indent=2, sort_keys=True))
    else:
        for r in reports:
            print(render(r, analyzer.pack_name, len(analyzer.policies)))
        print(f"{'PASS' if passed else 'FAIL'} ({args.mode}): {len(reports)} stack(s), "
              f"{sum(r['mandatory'] for r in reports)} mandatory violation(s), "
              f"{sum(sum(len(s['evaluations']) for s in r['skipped']) for r in reports)} skipped evaluation(s)")


if __name__ == "__main__":
    sys.exit(main())
