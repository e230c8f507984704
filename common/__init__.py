"""Plumbing shared by every part: settings, logs, telemetry, the bus and health. No domain rules."""
