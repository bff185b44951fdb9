"""The rules of the appx-gdpr policy pack, one per module.

`POLICIES` is importable without starting the pack (PolicyPack() runs a gRPC server forever),
so the offline preview, the record of processing and the tests evaluate the same objects that
`policy/__main__.py` hands to the CLI.
"""

from importlib import import_module

# Order = order of evaluation and of the docs table.
RULE_MODULES = (
    "eu_regions",
    "restricted_residency",
    "field_key_residency",
    "table_replicas_in_eu",
    "dynamodb_no_legacy_global_table",
    "edge_carve_out_wired",
    "edge_logs_where_it_runs",
    "data_classification",
    "data_class_propagation",
    "dynamodb_cmk",
    "sqs_cmk",
    "log_group_cmk",
    "lambda_env_cmk",
    "s3_cmk",
    "sns_cmk",
    "restricted_table_zone_key",
    "kms_key_rotation",
    "kms_no_lockout_bypass",
    "kms_no_public_principal",
    "log_retention",
    "queue_retention",
    "pitr_recovery_period",
    "dynamodb_pitr",
    "key_store_single_copy",
    "erasure_outlives_backups",
    "dynamodb_deletion_protection",
    "cloudfront_viewer_tls",
    "cloudfront_origin_tls",
    "cloudfront_waf",
    "api_domain_tls",
    "api_stage_access_logging",
    "iam_no_wildcard_action",
    "iam_data_actions_scoped",
    "lambda_permission_source_arn",
    "lambda_url_auth",
    "sqs_dead_letter_queue",
    "stream_on_failure_destination",
    "latency_records_health_checked",
    "cell_capacity_n_1",
)

POLICIES = [import_module(f"{__name__}.{m}").POLICY for m in RULE_MODULES]
BY_NAME = {p.name: p for p in POLICIES}
assert len(BY_NAME) == len(POLICIES), "duplicate policy names"

__all__ = ["POLICIES", "BY_NAME", "RULE_MODULES"]
