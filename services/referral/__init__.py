"""Referral: referrals to handlers, deadlines, joint handling, handler replies, city linkage."""
