"""Reliability under faults: real collector and agent processes killed, starved of disk,
cut off from their database (figures in docs/RELIABILITY.md)."""
