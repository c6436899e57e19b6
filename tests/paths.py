"""Where things are, for tests at any depth of the tree."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
#: Screenshots, reports and logs a test run leaves for people to look at (CI keeps them).
ARTIFACTS = ROOT / "artifacts"
