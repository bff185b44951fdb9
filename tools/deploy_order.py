"""Print the order in which the stacks must be deployed (`pulumi up -s <stack>` each).

Every cell comes after the cells it reads through StackReference (a zone's home cell before the
other cells of the zone, which replicate its table and key), then the global edge that reads them
all. A layout whose cells reference each other in a cycle has no order: it is refused (exit 2)
with the cycle named.
"""

from __future__ import annotations

import sys
from pathlib import Path

from components.config import load_project
from components.errors import ConfigError


def main() -> int:
    try:
        order = load_project(Path.cwd()).deploy_order()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(order))
    return 0


if __name__ == "__main__":
    sys.exit(main())
