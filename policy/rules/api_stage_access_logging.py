"""API Gateway (v2) stages write access logs (GDPR Art. 32(1)(d), ability to test and evaluate
security; APIGateway.9). The destination log group is itself covered by retention/CMK rules."""

from policy.rules._common import (
    API_STAGE, LOG_GROUP, EnforcementLevel, Severity, Unknown, graph_rule, read, undecidable, unknown_source_problems,
)

NAME = "api-stage-access-logging"


def _check(resource):
    destination = read(resource.props, "accessLogSettings", "destinationArn")
    log_format = read(resource.props, "accessLogSettings", "format")
    if not destination or not log_format:
        yield ("has no access logging. Fix: set accessLogSettings={destinationArn: <log group ARN>, format: <JSON "
               "format without request bodies>}")
    elif isinstance(log_format, Unknown):
        yield undecidable(log_format, NAME)
    elif isinstance(destination, Unknown):
        yield from unknown_source_problems(resource, "accessLogSettings", destination, (LOG_GROUP,),
                                           "a CloudWatch log group", "set destinationArn to a cloudwatch.LogGroup's arn")


POLICY = graph_rule(
    name=NAME,
    description="HTTP API stages have access logging to CloudWatch enabled.",
    article="Art. 32(1)(d)", title="Security of processing (monitoring)",
    severity=Severity.MEDIUM, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `accessLogSettings.destinationArn` and `accessLogSettings.format` on every stage.",
    types=(API_STAGE,), check=_check,
)
