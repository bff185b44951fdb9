"""`run_stack(mode="preview")`: a first `pulumi preview`, as the engine answers it."""

from __future__ import annotations

import json

import pytest

from offline.stack_runner import UNKNOWN, run_stack


@pytest.fixture(scope="module")
def cell():
    return run_stack("eu-west-1", mode="preview")


def _tables(run):
    return [r for r in run.resources if r.type == "aws:dynamodb/table:Table"]


def test_computed_outputs_of_created_resources_are_unknown(cell):
    table = _tables(cell)[0]
    assert table.id is None
    assert table.outputs["arn"] == UNKNOWN and table.outputs["streamArn"] == UNKNOWN
    assert table.outputs["name"] == table.props["name"]  # an input stays known


def test_values_derived_from_outputs_are_registered_unknown(cell):
    encryption = [t.props["serverSideEncryption"] for t in _tables(cell)]
    assert all(e["kmsKeyArn"] == UNKNOWN and e["enabled"] is True for e in encryption)


def test_property_dependencies_name_the_resources_a_value_comes_from(cell):
    keys = {r.urn for r in cell.resources if r.type == "aws:kms/key:Key"}
    for table in _tables(cell):
        assert set(table.property_dependencies["serverSideEncryption"]) <= keys
        assert table.property_dependencies["serverSideEncryption"]


def test_referenced_stacks_outputs_are_known():
    edge = run_stack("global", mode="preview")
    origins = [o for r in edge.resources if r.type == "aws:cloudfront/distribution:Distribution"
               for o in r.props["origins"]]
    assert origins and all(o["domainName"] != UNKNOWN for o in origins)


def test_update_mode_knows_everything():
    run = run_stack("eu-west-1")
    assert UNKNOWN not in repr([r.props for r in run.resources])


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode"):
        run_stack("eu-west-1", mode="destroy")


def test_policy_document_objects_reach_the_pack_as_the_provider_checks_them():
    from offline.stack_runner import provider_checked

    known = {"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:eu-west-1:1:q"}]}
    assert provider_checked("aws:iam/rolePolicy:RolePolicy", {"policy": known})["policy"] == json.dumps(known)
    hidden = {"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": UNKNOWN}]}
    assert provider_checked("aws:iam/rolePolicy:RolePolicy", {"policy": hidden})["policy"] == UNKNOWN
    assert provider_checked("aws:sqs/queue:Queue", {"policy": hidden})["policy"] is hidden
