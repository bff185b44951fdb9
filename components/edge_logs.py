"""Log groups for Lambda@Edge in the cell regions, created before the function ever logs there.

Lambda@Edge writes `/aws/lambda/us-east-1.<function>` in the region where it ran; a group it
creates itself keeps logs forever without a customer-managed key. EU viewers are served from
the EU regional edge caches, which are the cell regions here, so the groups are pre-created in
each cell region with bounded retention and the cell's CMK."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.regions import EDGE_CONTROL_REGION


@dataclass
class EdgeLogsArgs:
    function_name: str
    retention_days: int
    data_keys: Mapping[str, pulumi.Input[str]]  # region -> that cell's data-at-rest CMK
    providers: Mapping[str, aws.Provider]  # region -> explicit provider


class EdgeFunctionLogs(pulumi.ComponentResource):
    def __init__(self, name: str, args: EdgeLogsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:edge:EdgeFunctionLogs", name, None, opts)
        for region, key in args.data_keys.items():
            aws.cloudwatch.LogGroup(
                f"{name}-{region}",
                name=f"/aws/lambda/{EDGE_CONTROL_REGION}.{args.function_name}",
                retention_in_days=args.retention_days,
                kms_key_id=key,
                tags={"app": "appx", "data-class": "personal"},
                opts=pulumi.ResourceOptions(parent=self, provider=args.providers[region]),
            )
        self.register_outputs({})
