"""ARNs built from what the program knows before anything exists: partition, region, account and
the physical names it chooses. An IAM document that names resources this way is known at a first
`pulumi preview`, so the policy pack sees what a role may do before the role is created.

A resource's `arn` output is unknown until the resource exists, and a document holding one is
unknown as a whole: `json.dumps` runs inside an apply, and pulumi-aws turns a PolicyDocument object
that contains an unknown into an unknown string before the policy pack sees it
(`tfbridge.TransformJSONDocument`). KMS key ids are chosen by AWS, so keys are named through their
aliases instead (AWS KMS attribute-based access control, condition key `kms:ResourceAliases`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pulumi

PARTITION = "aws"  # EU commercial regions


@dataclass(frozen=True)
class Arns:
    region: str
    account_id: pulumi.Input[str]

    def _arn(self, service: str, *resource: pulumi.Input[str]) -> pulumi.Output[str]:
        return pulumi.Output.concat(f"arn:{PARTITION}:{service}:{self.region}:", self.account_id, ":", *resource)

    def table(self, name: pulumi.Input[str], suffix: str = "") -> pulumi.Output[str]:
        """A table (or, with suffix `/index/<name>` / `/stream/*`, its index or streams) in this region."""
        return self._arn("dynamodb", "table/", name, suffix)

    def queue(self, name: pulumi.Input[str]) -> pulumi.Output[str]:
        return self._arn("sqs", name)

    def log_streams(self, log_group: pulumi.Input[str]) -> pulumi.Output[str]:
        return self._arn("logs", "log-group:", log_group, ":*")

    def keys(self) -> pulumi.Output[str]:
        """Every KMS key of the account in this region: use only with `aliased`."""
        return self._arn("kms", "key/*")


def aliased(aliases: Iterable[str], condition: dict | None = None) -> dict:
    """An IAM condition that limits KMS actions on `Arns.keys()` to the keys carrying one of `aliases`."""
    return {**(condition or {}), "ForAnyValue:StringEquals": {"kms:ResourceAliases": sorted(aliases)}}
