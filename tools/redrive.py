"""Redrive a cell's deferred-writes DLQ into its queue: `python -m tools.redrive --dlq URL --queue URL`.

The command lives with the functions (`functions/appx_common/redrive.py`, packaged with them);
this entry point runs it from the repository root. The cell stack exports `queueUrl` and `dlqUrl`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions"))

from appx_common.redrive import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
