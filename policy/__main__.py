"""Entry point of the appx-gdpr policy pack: `pulumi preview --policy-pack policy`.

The CLI runs this file with cwd=policy/, so the repository root goes on sys.path first: the rules
import `components.residency` and read ../residency.yaml, the project's one residency definition.
Only this file constructs the PolicyPack (which starts a gRPC server and never returns).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policy.rules import POLICIES  # noqa: E402

PolicyPack(
    name="appx-gdpr",
    policies=POLICIES,
    enforcement_level=EnforcementLevel.MANDATORY,
    description="GDPR rules for Application X: EU residency, classification, CMK encryption, retention, transport, least privilege, resilience.",
    display_name="Application X GDPR",
    provider="aws",
    tags=["gdpr", "aws", "residency"],
)
