"""Checks of the agent's own host: CPU, memory, disks, uptime, clock."""
