"""A CLOUDFRONT-scope WAF web ACL: a per-IP rate limit, the API's request body limit with the
API's own answer (413 and an RFC 9457 problem), AWS's known-bad-inputs rules and AWS's common
rule set without its 8 KB body rule.

One limit, one answer: the common rule set's ``SizeRestrictions_BODY`` blocks bodies over 8 KB
with a bare 403, which would contradict the API's 64 KiB contract (docs/api/openapi.yaml), so
that rule only counts. Our size rule inspects up to 64 KB of the body (the web ACL's CloudFront
body inspection limit) and treats a body past that limit as a match (oversize handling MATCH),
so any body over 64 KiB is blocked with the same 413 problem the edge function and the API give.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus

import pulumi
import pulumi_aws as aws

# The API's request body contract (functions/api MAX_BODY_BYTES; tests hold them equal).
MAX_BODY_BYTES = 64 * 1024
BODY_INSPECTION_LIMIT = "KB_64"  # CloudFront web ACLs inspect 16 KB by default; 64 KB covers the contract
COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
KNOWN_BAD_INPUTS_RULE_SET = "AWSManagedRulesKnownBadInputsRuleSet"
COMMON_BODY_SIZE_RULE = "SizeRestrictions_BODY"  # 8 KB in the common rule set: counted, not blocking
BODY_TOO_LARGE_KEY = "body-too-large"
# The API's problem type base (functions/appx_common/problems.py; tests hold them equal).
PROBLEM_TYPE_BASE = "https://appx.example.eu/problems/"
# WAF custom response bodies may only be text/plain, text/html or application/json.
BODY_TOO_LARGE_CONTENT_TYPE = "application/json"
BODY_TOO_LARGE_STATUS = 413


def body_too_large_problem() -> dict:
    """The body of the WAF's 413 answer: the same problem the edge and the API answer."""
    return {
        "type": PROBLEM_TYPE_BASE + "body-too-large",
        "title": HTTPStatus(BODY_TOO_LARGE_STATUS).phrase,
        "status": BODY_TOO_LARGE_STATUS,
        "detail": f"request bodies are limited to {MAX_BODY_BYTES} bytes",
    }


@dataclass
class EdgeFirewallArgs:
    rate_limit_per_5min: int


class EdgeFirewall(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: EdgeFirewallArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:edge:EdgeFirewall", name, None, opts)

        def visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgs:
            return aws.wafv2.WebAclVisibilityConfigArgs(cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=False)

        def managed(priority: int, rule_set: str, metric: str, overrides=None) -> aws.wafv2.WebAclRuleArgs:
            return aws.wafv2.WebAclRuleArgs(
                name=metric.removeprefix("appx-"),
                priority=priority,
                override_action=aws.wafv2.WebAclRuleOverrideActionArgs(none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                        vendor_name="AWS", name=rule_set, rule_action_overrides=overrides
                    )
                ),
                visibility_config=visibility(metric),
            )

        acl = aws.wafv2.WebAcl(
            name,
            scope="CLOUDFRONT",
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            association_config=aws.wafv2.WebAclAssociationConfigArgs(
                request_bodies=[
                    aws.wafv2.WebAclAssociationConfigRequestBodyArgs(
                        cloudfront=aws.wafv2.WebAclAssociationConfigRequestBodyCloudfrontArgs(default_size_inspection_limit=BODY_INSPECTION_LIMIT)
                    )
                ]
            ),
            custom_response_bodies=[
                aws.wafv2.WebAclCustomResponseBodyArgs(
                    key=BODY_TOO_LARGE_KEY, content=json.dumps(body_too_large_problem()), content_type="APPLICATION_JSON"
                )
            ],
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
                    name="body-size",
                    priority=1,
                    action=aws.wafv2.WebAclRuleActionArgs(
                        block=aws.wafv2.WebAclRuleActionBlockArgs(
                            custom_response=aws.wafv2.WebAclRuleActionBlockCustomResponseArgs(
                                response_code=BODY_TOO_LARGE_STATUS, custom_response_body_key=BODY_TOO_LARGE_KEY
                            )
                        )
                    ),
                    statement=aws.wafv2.WebAclRuleStatementArgs(
                        size_constraint_statement=aws.wafv2.WebAclRuleStatementSizeConstraintStatementArgs(
                            comparison_operator="GT",
                            size=MAX_BODY_BYTES,
                            field_to_match=aws.wafv2.WebAclRuleStatementSizeConstraintStatementFieldToMatchArgs(
                                body=aws.wafv2.WebAclRuleStatementSizeConstraintStatementFieldToMatchBodyArgs(oversize_handling="MATCH")
                            ),
                            text_transformations=[
                                aws.wafv2.WebAclRuleStatementSizeConstraintStatementTextTransformationArgs(priority=0, type="NONE")
                            ],
                        )
                    ),
                    visibility_config=visibility("appx-body-size"),
                ),
                managed(2, KNOWN_BAD_INPUTS_RULE_SET, "appx-aws-known-bad-inputs"),
                managed(
                    3,
                    COMMON_RULE_SET,
                    "appx-aws-common",
                    [
                        aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgs(
                            name=COMMON_BODY_SIZE_RULE,
                            action_to_use=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseArgs(
                                count=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseCountArgs()
                            ),
                        )
                    ],
                ),
            ],
            visibility_config=visibility("appx-edge"),
            tags={"app": "appx"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = acl.arn
        self.register_outputs({"arn": self.arn})
