"""API Gateway (v2) stages write access logs (GDPR Art. 32(1)(d), ability to test and evaluate
security; APIGateway.9). The destination log group is itself covered by retention/CMK rules."""

from policy.rules._common import API_STAGE, EnforcementLevel, Severity, resource_rule


def _check(args):
    settings = args.props.get("accessLogSettings") or {}
    if not settings.get("destinationArn") or not settings.get("format"):
        yield ("has no access logging. Fix: set accessLogSettings={destinationArn: <log group ARN>, format: <JSON "
               "format without request bodies>}")


POLICY = resource_rule(
    name="api-stage-access-logging",
    description="HTTP API stages have access logging to CloudWatch enabled.",
    article="Art. 32(1)(d)", title="Security of processing (monitoring)",
    severity=Severity.MEDIUM, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `accessLogSettings.destinationArn` and `accessLogSettings.format` on every stage.",
    types=(API_STAGE,), check=_check,
)
