"""A DynamoDB or Kinesis stream mapping sends batches that exhaust their retries to an on-failure
destination (GDPR Art. 32(1)(b)/(c)). Without one Lambda discards the batch after
`maximumRetryAttempts` (Lambda Developer Guide, "Error handling for DynamoDB event sources"): a
failing erasure record would be dropped silently and the erasure never propagated."""

from policy.rules._common import EnforcementLevel, Severity, Unknown, read, resource_rule, undecidable

NAME = "stream-on-failure-destination"
EVENT_SOURCE_MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
STREAM_SOURCES = (":dynamodb:", ":kinesis:")


def is_stream_mapping(props) -> bool:
    """A DynamoDB/Kinesis stream mapping: its source ARN says so, or, while the ARN is unknown (preview),
    it has a startingPosition (AWS requires one for streams and rejects it for SQS)."""
    source = read(props, "eventSourceArn")
    if isinstance(source, Unknown):
        return bool(read(props, "startingPosition"))
    return isinstance(source, str) and any(s in source for s in STREAM_SOURCES)


def _check(args):
    if not is_stream_mapping(args.props):
        return
    destination = read(args.props, "destinationConfig", "onFailure", "destinationArn")
    if isinstance(destination, Unknown):
        yield undecidable(destination, NAME)
    elif not destination:
        yield ("discards a stream batch once its retries are exhausted (no on-failure destination). Fix: set "
               "destinationConfig.onFailure.destinationArn to a CMK-encrypted SQS queue with an alarm on its depth")
    bisect = read(args.props, "bisectBatchOnFunctionError")
    if isinstance(bisect, Unknown):
        yield undecidable(bisect, NAME)
    elif bisect is not True:
        yield ("retries a failing batch whole, so one bad record holds back and fails its neighbours. Fix: set "
               "bisectBatchOnFunctionError=true")


POLICY = resource_rule(
    name=NAME,
    description="Stream event source mappings bisect failing batches and keep exhausted ones in an on-failure destination.",
    article="Art. 32(1)(b)", title="Security of processing (integrity and resilience)",
    severity=Severity.HIGH, level=EnforcementLevel.MANDATORY,
    remediation_steps="Set destinationConfig.onFailure.destinationArn (an encrypted SQS queue, alarmed) and "
                      "bisectBatchOnFunctionError=true on every DynamoDB/Kinesis stream mapping.",
    types=(EVENT_SOURCE_MAPPING,), check=_check,
)
