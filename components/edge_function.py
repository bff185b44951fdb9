"""The Lambda@Edge origin-request function: us-east-1, x86_64, a published version, a role
that edgelambda.amazonaws.com may assume, and its config.json bundled with the code."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.cell_function import policy_document, trust_policy, Grant
from components.edge_config import EDGE_CONFIG_FILE
from components.edge_logs import edge_log_group_name
from components.packaging import function_archive_with

EDGE_RUNTIME = "python3.13"  # the newest Python that Lambda@Edge supports
EDGE_FUNCTION_NAME = "appx-edge"


@dataclass
class EdgeFunctionArgs:
    config: pulumi.Input[dict]  # components.edge_config.edge_function_config(...)
    log_regions: tuple[str, ...]  # residency.yaml edgeRegions, where its log groups are pre-created


class EdgeFunction(pulumi.ComponentResource):
    qualified_arn: pulumi.Output[str]

    def __init__(self, name: str, args: EdgeFunctionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:edge:EdgeFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(trust_policy("lambda.amazonaws.com", "edgelambda.amazonaws.com")),
            tags={"app": "appx"},
            opts=child,
        )
        # Lambda@Edge writes logs in the region where it ran: only into the groups pre-created in
        # the edge regions (no CreateLogGroup: a group it made itself elsewhere would have no CMK
        # and keep logs forever; a run outside the edge regions logs nothing).
        aws.iam.RolePolicy(
            f"{name}-logs",
            role=role.id,
            policy=policy_document([Grant(
                ("logs:CreateLogStream", "logs:PutLogEvents"),
                tuple(f"arn:aws:logs:{region}:*:log-group:{edge_log_group_name(EDGE_FUNCTION_NAME)}:*"
                      for region in args.log_regions),
            )]),
            opts=child,
        )
        function = aws.lambda_.Function(
            name,
            name=EDGE_FUNCTION_NAME,
            runtime=EDGE_RUNTIME,
            architectures=["x86_64"],  # Lambda@Edge runs x86_64 only
            handler="handler.handler",
            code=function_archive_with("edge", EDGE_CONFIG_FILE, pulumi.Output.from_input(args.config).apply(
                lambda c: json.dumps(c, indent=2, sort_keys=True))),
            role=role.arn,
            timeout=5,
            memory_size=256,
            publish=True,
            tags={"app": "appx"},
            # Replicated Lambda@Edge functions cannot be deleted for hours after their last
            # association is removed (pulumi/pulumi-aws#1045): a destroy leaves the function
            # behind for a second `pulumi destroy` (README, "Destroy").
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        self.qualified_arn = function.qualified_arn
        self.register_outputs({"qualifiedArn": self.qualified_arn})
