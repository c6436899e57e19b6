"""Criteria catalogue and engine."""
