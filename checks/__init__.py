"""Check plugins and the result model shared by the agent and the collector."""

from checks.model import Category, CheckResult, Report, Status, Value

__all__ = ["Category", "CheckResult", "Report", "Status", "Value"]
