"""Redrive a cell's failed work from the repository root.

    python -m tools.redrive --dlq URL --queue URL      deferred-writes DLQ -> its queue
    python -m tools.redrive stream --queue URL ...     stream batches that exhausted their retries

The commands live with the functions (`functions/appx_common/redrive.py` and
`stream_redrive.py`, packaged with them); this entry point runs them from the repository root.
The cell stack exports `queueUrl`, `dlqUrl` and `streamFailureQueueUrl`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions"))

from appx_common import redrive, stream_redrive  # noqa: E402


def main(argv: list[str] | None = None, sqs=None) -> int:
    """`sqs`: a client for the DLQ redrive (tests and the local runtime pass their own)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["stream"]:
        return stream_redrive.main(argv[1:])
    return redrive.main(argv, sqs=sqs)


if __name__ == "__main__":
    sys.exit(main())
