"""Lambda resource-based permissions for AWS services name the calling resource (GDPR Art. 25;
confused-deputy protection: without sourceArn any API/queue in any account could invoke)."""

from policy.rules._common import PERMISSION, EnforcementLevel, Severity, resource_rule


def _check(args):
    if not args.props.get("sourceArn"):
        yield (f"lets {args.props.get('principal')!r} invoke the function from any source. Fix: set sourceArn to "
               "the ARN of the calling resource (e.g. <api execution ARN>/*/*)")


POLICY = resource_rule(
    name="lambda-permission-source-arn",
    description="Lambda permissions are scoped with a sourceArn.",
    article="Art. 25", title="Data protection by design and by default",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set `sourceArn` on every aws.lambda.Permission.",
    types=(PERMISSION,), check=_check,
)
