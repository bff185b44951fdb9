"""Edge log groups, the edge-region policy and certificate validation records as a first
`pulumi preview` sees them (offline.stack_runner mode="preview": outputs of resources to be
created are unknown). The same properties in refresh mode: test_global.py, test_hosted_zone.py."""

from __future__ import annotations

import copy

import pytest

from offline.stack_runner import UNKNOWN, run_stack
from policy.analyzer import OfflineAnalyzer, from_stack_run
from policy.mutations import m_edge_log_group_dropped, m_edge_whitelists_gb

RULE = "edge-function-logs-where-it-runs"
RECORD = "aws:route53/record:Record"


@pytest.fixture(scope="module")
def preview_global():
    return run_stack("global", mode="preview")


def test_edge_log_groups_are_planned_in_every_edge_region_with_a_key_of_that_region(project, preview_global):
    groups = {preview_global.region_of(g): g for g in preview_global.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert set(groups) == set(project.residency.edge_regions)
    keys = {k.urn: k for k in preview_global.of_type("aws:kms/key:Key")}
    for region, group in groups.items():
        assert group.props["retentionInDays"] == 30 and group.props["name"] == "/aws/lambda/us-east-1.appx-edge"
        if region in project.cell_regions:  # the cell's data key, read from its (known) outputs
            assert group.props["kmsKeyId"].startswith(f"arn:aws:kms:{region}:")
        else:  # a key created in this update: unknown ARN, known origin
            assert group.props["kmsKeyId"] == UNKNOWN
            (source,) = group.property_dependencies["kmsKeyId"]
            assert preview_global.region_of(keys[source]) == region


@pytest.fixture(scope="module")
def preview_resources(preview_global):
    return from_stack_run(preview_global)


def test_policy_decides_at_a_first_preview(preview_resources):
    result = OfflineAnalyzer().evaluate(copy.deepcopy(preview_resources))
    assert result.by_policy(RULE) == []


@pytest.mark.parametrize("mutation", [m_edge_whitelists_gb, m_edge_log_group_dropped])
def test_policy_catches_the_mutations_at_a_first_preview(preview_resources, mutation):
    resources = copy.deepcopy(preview_resources)
    target = mutation(resources)
    hits = OfflineAnalyzer().evaluate(resources).by_policy(RULE)
    assert hits and all(d.urn.endswith(f"::{target}") and d.level == "mandatory" for d in hits)


@pytest.mark.parametrize("region", ["eu-west-1", "eu-central-1", "eu-west-3"])
def test_validation_records_are_planned_only_by_their_owner(project, region):
    run = run_stack(region, mode="preview")
    owned = [h for h in project.host_names(region) if project.validation_record_owner(h) == region]
    records = [r for r in run.of_type(RECORD) if "-cert-validation-" in r.name]
    assert len(records) == len(owned) >= 1
    (validation,) = run.of_type("aws:acm/certificateValidation:CertificateValidation")
    assert len(validation.props["validationRecordFqdns"]) == len(project.host_names(region))
