import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from policy.analyzer import OfflineAnalyzer  # noqa: E402


@pytest.fixture(scope="session")
def analyzer():
    """The real pack (args taken from policy/__main__.py) on pulumi-policy's servicer, default config."""
    return OfflineAnalyzer()
