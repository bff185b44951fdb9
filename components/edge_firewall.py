"""A CLOUDFRONT-scope WAF web ACL with a per-IP rate-based rule and AWS's common rule set."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class EdgeFirewallArgs:
    rate_limit_per_5min: int


class EdgeFirewall(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: EdgeFirewallArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:edge:EdgeFirewall", name, None, opts)

        def visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgs:
            return aws.wafv2.WebAclVisibilityConfigArgs(cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=False)

        acl = aws.wafv2.WebAcl(
            name,
            scope="CLOUDFRONT",
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            rules=[
                aws.wafv2.WebAclRuleArgs(
                    name="rate-limit-per-ip",
                    priority=0,
                    action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
                    statement=aws.wafv2.WebAclRuleStatementArgs(
                        rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                            limit=args.rate_limit_per_5min, aggregate_key_type="IP"
                        )
                    ),
                    visibility_config=visibility("appx-rate-limit"),
                ),
                aws.wafv2.WebAclRuleArgs(
                    name="aws-common",
                    priority=1,
                    override_action=aws.wafv2.WebAclRuleOverrideActionArgs(none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()),
                    statement=aws.wafv2.WebAclRuleStatementArgs(
                        managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                            vendor_name="AWS", name="AWSManagedRulesCommonRuleSet"
                        )
                    ),
                    visibility_config=visibility("appx-aws-common"),
                ),
            ],
            visibility_config=visibility("appx-edge"),
            tags={"app": "appx"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = acl.arn
        self.register_outputs({"arn": self.arn})
