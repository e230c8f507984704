"""Intake: gives each submission its issue number, keeps the intake record, emits IssueReceived."""
