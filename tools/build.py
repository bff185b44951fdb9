"""Build the deployable artefact of every function into build/<function>/.

    python -m tools.build               # code + dependencies vendored as manylinux wheels
    python -m tools.build --code-only   # code only (offline; good for mocks, refused by deploys)

Each function gets its handler, the shared `appx_common` package next to it, and the wheels of
functions/requirements.txt for its runtime and architecture: arm64 for the regional functions,
x86_64 for Lambda@Edge. A manifest records what was built; the program deploys only vendored builds.
"""

from __future__ import annotations

import argparse
import sys

from components.packaging import ARCHITECTURES, REPO_ROOT, build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.build", description=__doc__.splitlines()[0])
    parser.add_argument("--code-only", action="store_true", help="skip vendoring dependencies (no network)")
    parser.add_argument("functions", nargs="*", metavar="FUNCTION", help=f"any of {', '.join(ARCHITECTURES)} (default: all)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.functions) - set(ARCHITECTURES))
    if unknown:
        parser.error(f"unknown function(s) {', '.join(unknown)} (allowed: {', '.join(ARCHITECTURES)})")
    for function in args.functions or ARCHITECTURES:
        target = build(function, args.code_only)
        print(f"built {function:<7} {ARCHITECTURES[function]:<7} {'code only' if args.code_only else 'vendored'} -> {target.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
