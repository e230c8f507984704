"""Feedback: feedback to deputies and voters, satisfaction ratings, reopen and close-out."""
