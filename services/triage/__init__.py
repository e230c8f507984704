"""Triage: category and responsible tier of each issue; later, reviews, escalations and assignments."""
