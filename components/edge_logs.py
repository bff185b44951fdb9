"""Log groups for Lambda@Edge in every edge region, created before the function ever logs there.

CloudFront runs the function in the region of the regional edge cache serving the viewer, and
it writes `/aws/lambda/us-east-1.<function>` there; a group it created itself would keep logs
forever without a customer-managed key. `residency.yaml` `edgeRegions` lists where edge
processing may happen; each gets the group with bounded retention and a CMK of that region:
the cell's data key where a cell runs, else an `EdgeLogKey` created in that region."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.edge_log_key import EdgeLogKey, EdgeLogKeyArgs
from components.regions import EDGE_CONTROL_REGION


def edge_log_group_name(function_name: str) -> str:
    """Lambda@Edge prefixes the function's default group with the region it was created in."""
    return f"/aws/lambda/{EDGE_CONTROL_REGION}.{function_name}"


@dataclass
class EdgeLogsArgs:
    function_name: str
    retention_days: int
    account_id: pulumi.Input[str]
    regions: tuple[str, ...]  # residency.yaml edgeRegions
    cell_data_keys: Mapping[str, pulumi.Input[str]]  # cell region -> that cell's data-at-rest CMK
    providers: Mapping[str, aws.Provider]  # region -> explicit provider, for every edge region


class EdgeFunctionLogs(pulumi.ComponentResource):
    def __init__(self, name: str, args: EdgeLogsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:edge:EdgeFunctionLogs", name, None, opts)
        group_name = edge_log_group_name(args.function_name)
        for region in args.regions:
            in_region = pulumi.ResourceOptions(parent=self, provider=args.providers[region])
            key = args.cell_data_keys.get(region)
            if key is None:
                key = EdgeLogKey(f"{name}-key-{region}", EdgeLogKeyArgs(region, args.account_id, group_name), in_region).arn
            aws.cloudwatch.LogGroup(
                f"{name}-{region}",
                name=group_name,
                retention_in_days=args.retention_days,
                kms_key_id=key,
                tags={"app": "appx", "data-class": "personal"},
                opts=in_region,
            )
        self.register_outputs({})
