"""The customer-managed key of the Lambda@Edge log group in an edge region without a cell.

A CloudWatch Logs group can only use a KMS key of its own region. In a cell region the edge log
group uses the cell's data key; in any other edge region (residency.yaml `edgeRegions`) the
global stack creates this key there, through that region's explicit provider, usable by
CloudWatch Logs for the edge function's log group only."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.data_key import account_administers, logs_may_encrypt, rotating_key

# Tag the policy pack recognises (eu-regions carve-out, kms-key-rotation applies as to any key).
EDGE_LOGS_PURPOSE = "edge-logs"


@dataclass
class EdgeLogKeyArgs:
    region: str
    account_id: pulumi.Input[str]
    log_group_name: str


class EdgeLogKey(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: EdgeLogKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:edge:EdgeLogKey", name, None, opts)
        key = rotating_key(
            name, f"Application X Lambda@Edge logs in {args.region}", EDGE_LOGS_PURPOSE, args.account_id,
            lambda account: {"Version": "2012-10-17", "Statement": [
                account_administers(account),
                logs_may_encrypt(account, args.region, f"log-group:{args.log_group_name}"),
            ]},
            self,
        )
        self.arn = key.arn
        self.register_outputs({"arn": self.arn})
