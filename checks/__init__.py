"""Check plugins and the result model shared by the agent and the collector."""

from checks.model import AgentReport, Category, CheckResult, Status, Value

__all__ = ["AgentReport", "Category", "CheckResult", "Status", "Value"]
