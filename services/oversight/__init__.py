"""Oversight: ledgers, overdue supervision, assessment, notices, exemplars, accountability."""
