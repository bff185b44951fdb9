"""Print the order in which the stacks must be deployed (`pulumi up -s <stack>` each).

Cells that own a zone's global table and primary field key come first (the other cells of the
zone replicate from them), then the remaining cells, then the global edge that reads them all.
"""

from __future__ import annotations

import sys
from pathlib import Path

from components.config import load_project
from components.errors import ConfigError


def main() -> int:
    try:
        project = load_project(Path.cwd())
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(project.deploy_order()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
