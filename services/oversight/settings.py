"""Oversight's settings, from the environment."""

from common.settings import BaseSettings


class OversightSettings(BaseSettings, frozen=True, kw_only=True):
    district_code: str = "610902"  # the district whose reports oversight writes
    supervision_every_s: float = 5.0  # how often overdue referrals are looked for
    assessment_file: str = ""  # empty: the model shipped beside the service (assessment.toml)
    callback_salt: str = ""  # a secret in production, or anyone with the code knows which issues get a callback
