"""Backfill a new cell's feed from its posts replica: `python -m tools.backfill_feed --region R`.

The command lives with the functions (`functions/appx_common/feed_backfill.py`); this entry point
runs it from the repository root with the operator's credentials (it scans the region's posts
replica, which no function role may do). Prints a JSON summary.
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "functions"))

from appx_common import aws  # noqa: E402
from appx_common.config import RegionConfig  # noqa: E402
from appx_common.feed_backfill import backfill_feed  # noqa: E402
from appx_common.store import Store  # noqa: E402


def main(argv: list[str] | None = None, dynamodb=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.backfill_feed", description=__doc__.splitlines()[0])
    parser.add_argument("--region", required=True, help="the new cell's region")
    args = parser.parse_args(argv)
    cfg = RegionConfig.from_env({**os.environ, "APPX_REGION": args.region}, "appx-backfill")
    store = Store(cfg, dynamodb or aws.resource("dynamodb", cfg))
    print(json.dumps(backfill_feed(store)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
