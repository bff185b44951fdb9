"""Lambda resource-based permissions for AWS services name the calling resource (GDPR Art. 25;
confused-deputy protection: without sourceArn any API/queue in any account could invoke)."""

from policy.rules._common import PERMISSION, EnforcementLevel, Severity, Unknown, graph_rule, read, unknown_source_problems


def _check(resource):
    source = read(resource.props, "sourceArn")
    if isinstance(source, Unknown):  # an output of a resource of this stack: that resource's ARN
        yield from unknown_source_problems(resource, "sourceArn", source, None, "the ARN of a calling resource",
                                           "set sourceArn from the calling resource's arn/executionArn output")
    elif not source:
        yield (f"lets {read(resource.props, 'principal')!r} invoke the function from any source. Fix: set sourceArn to "
               "the ARN of the calling resource (e.g. <api execution ARN>/*/*)")


POLICY = graph_rule(
    name="lambda-permission-source-arn",
    description="Lambda permissions are scoped with a sourceArn.",
    article="Art. 25", title="Data protection by design and by default",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `sourceArn` on every aws.lambda.Permission.",
    types=(PERMISSION,), check=_check,
)
