"""The cell's customer-managed KMS key for data at rest (tables, queues, logs, env vars)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


ALIAS = "alias/appx-data"  # IAM documents name the key by it (components.arns.aliased)


@dataclass
class DataKeyArgs:
    region: str
    account_id: pulumi.Input[str]


class RegionalDataKey(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: DataKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:security:RegionalDataKey", name, None, opts)
        key = rotating_key(name, f"Application X data at rest in {args.region}", "data-at-rest",
                           args.account_id, lambda account: _key_policy(account, args.region), self)
        aws.kms.Alias(name, name=ALIAS, target_key_id=key.key_id, opts=pulumi.ResourceOptions(parent=self))
        self.arn = key.arn
        self.register_outputs({"arn": self.arn})


def rotating_key(name: str, description: str, purpose: str, account_id: pulumi.Input[str],
                 policy: Callable[[str], dict], parent: pulumi.Resource) -> aws.kms.Key:
    """A customer-managed symmetric key of this project: yearly rotation, 30-day deletion window,
    the key policy built from the account id, tagged with what it is for."""
    return aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=pulumi.Output.from_input(account_id).apply(lambda account: json.dumps(policy(account))),
        tags={"app": "appx", "purpose": purpose},
        opts=pulumi.ResourceOptions(parent=parent),
    )


def account_administers(account: str) -> dict:
    """The account root administers a key; IAM policies then grant each function only what it needs."""
    return {
        "Sid": "AccountAdministers",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def logs_may_encrypt(account: str, region: str, log_groups: str = "*") -> dict:
    """CloudWatch Logs of `region` may use the key, only for this account's log groups `log_groups`."""
    return {
        "Sid": "CloudWatchLogsEncrypt",
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{region}.amazonaws.com"},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account}:{log_groups}"}},
    }


def _key_policy(account: str, region: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            account_administers(account),
            {
                # Alarms publish to the cell's encrypted SNS topic.
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            },
            logs_may_encrypt(account, region),
        ],
    }
