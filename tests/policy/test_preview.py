"""The offline preview: every shipped stack passes; exit codes 0/1/2; JSON and text name the
resource, rule, level and fix."""

import json
import shutil
from pathlib import Path

import pytest

from tools import preview

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv):
    code = preview.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_shipped_stack_has_zero_mandatory_violations(capsys):
    code, out, err = run(capsys, "--all", "--json")
    report = json.loads(out)
    assert {s["stack"] for s in report["stacks"]} == set(preview.shipped_stack_names())
    for stack in report["stacks"]:
        assert [v for v in stack["violations"] if v["level"] == "mandatory"] == [], stack["stack"]
        assert stack["resources"], stack["stack"]
    assert report["passed"] and code == 0


def test_text_output_lists_resources_with_region_and_class(capsys):
    code, out, _ = run(capsys, "--stack", "eu-west-1")
    assert code == 0
    assert "aws:dynamodb/table:Table" in out
    assert "restricted (zone eu)" in out
    assert "PASS" in out


@pytest.fixture
def project(tmp_path):
    """A copy of the project's configuration to break."""
    for f in [*ROOT.glob("Pulumi*.yaml"), ROOT / "residency.yaml"]:
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def test_mandatory_violation_exits_1_naming_resource_rule_level_fix(capsys, project):
    stack_file = project / "Pulumi.eu-west-3.yaml"
    stack_file.write_text(stack_file.read_text().replace("pitrRecoveryPeriodDays: 7", "pitrRecoveryPeriodDays: 30"))
    code, out, _ = run(capsys, "--root", str(project), "--stack", "eu-west-3", "--json")
    assert code == 1
    (violation,) = json.loads(out)["stacks"][0]["violations"]
    assert violation["policy"] == "pitr-recovery-period" and violation["level"] == "mandatory"
    assert violation["resource"] == "cell-eu-west-3-appx-feed"
    assert "30 days" in violation["message"] and "recoveryPeriodInDays to at most 14" in violation["fix"]
    code, out, _ = run(capsys, "--root", str(project), "--stack", "eu-west-3")
    assert code == 1 and "[mandatory] pitr-recovery-period" in out and "fix:" in out and "FAIL" in out


def test_policy_config_can_lower_a_level_to_advisory(capsys, project, tmp_path):
    stack_file = project / "Pulumi.eu-west-3.yaml"
    stack_file.write_text(stack_file.read_text().replace("pitrRecoveryPeriodDays: 7", "pitrRecoveryPeriodDays: 30"))
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"pitr-recovery-period": "advisory"}))
    code, out, _ = run(capsys, "--root", str(project), "--stack", "eu-west-3", "--policy-config", str(config))
    assert code == 0 and "[advisory] pitr-recovery-period" in out


def test_remediation_is_reported_and_passes(capsys, project, tmp_path):
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"log-retention": {"maxRetentionDays": 14}}))
    code, out, _ = run(capsys, "--root", str(project), "--stack", "eu-west-3", "--policy-config", str(config), "--json")
    stack = json.loads(out)["stacks"][0]
    assert code == 0 and stack["violations"] == []
    assert stack["remediations"] and all(m["changed"] == {"retentionInDays": 14} for m in stack["remediations"])


def test_config_error_exits_2_with_message_and_no_traceback(capsys, project):
    stack_file = project / "Pulumi.eu-west-3.yaml"
    stack_file.write_text(stack_file.read_text().replace("logRetentionDays: 30", "logRetentionDays: 31"))
    code, out, err = run(capsys, "--root", str(project), "--stack", "eu-west-3")
    assert code == 2
    assert "Pulumi.eu-west-3.yaml" in err and "logRetentionDays" in err and "Traceback" not in err


def test_unknown_stack_exits_2(capsys):
    code, _, err = run(capsys, "--stack", "eu-west-9")
    assert code == 2 and "Pulumi.eu-west-9.yaml" in err


def test_bad_policy_config_exits_2(capsys, tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"no-such-policy": "advisory"}))
    code, _, err = run(capsys, "--stack", "eu-west-1", "--policy-config", str(config))
    assert code == 2 and "no-such-policy" in err


def test_preview_mode_runs_every_stack_as_a_first_deploy_sees_it(capsys):
    code, out, _ = run(capsys, "--all", "--json", "--mode", "preview")
    report = json.loads(out)
    assert report["mode"] == "preview"
    for stack in report["stacks"]:
        assert stack["mode"] == "preview" and stack["skipped"] == [] and stack["skippedMandatory"] == 0, stack["stack"]


def _pack_that_reads_an_output():
    """The real pack plus a rule written without care for unknowns: it reads a table's key ARN."""
    from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

    from policy.analyzer import load_pack_arguments

    def validate(args, report_violation):
        if args.resource_type == "aws:dynamodb/table:Table":
            if not args.props["serverSideEncryption"]["kmsKeyArn"].startswith("arn:aws:kms:"):
                report_violation("not a key ARN")

    careless = ResourceValidationPolicy(name="careless-key-check", description="reads an output",
                                        validate=validate, enforcement_level=EnforcementLevel.MANDATORY)
    arguments = load_pack_arguments()
    return {**arguments, "policies": [*arguments["policies"], careless]}


def test_skipped_evaluations_are_listed_per_rule_with_the_unknown_property_and_fail():
    from policy.analyzer import OfflineAnalyzer

    analyzer = OfflineAnalyzer(pack_arguments=_pack_that_reads_an_output())
    report = preview.preview_stack("eu-west-3", analyzer, mode="preview")
    (skipped,) = report["skipped"]
    assert skipped["policy"] == "careless-key-check" and skipped["level"] == "mandatory"
    tables = {e["resource"] for e in skipped["evaluations"]}
    assert "cell-eu-west-3-appx-feed" in tables
    assert {e["property"] for e in skipped["evaluations"]} == {".serverSideEncryption.kmsKeyArn"}
    assert report["skippedMandatory"] == len(skipped["evaluations"]) and not report["passed"]
    text = preview.render(report, analyzer.pack_name, len(analyzer.policies))
    assert "careless-key-check" in text and ".serverSideEncryption.kmsKeyArn unknown" in text
    assert preview.preview_stack("eu-west-3", analyzer, mode="update")["skipped"] == []
