"""Every topic of the platform, defined once: name, partitions, key, and the messages it carries."""

from __future__ import annotations

import re
from typing import Any, Final

import msgspec

from contracts.commands import (
    HandlerReplyMessage,
    Notification,
    RatingMessage,
    ReferralMessage,
    ReviewDecisionMessage,
    ReviewOutcomeMessage,
)
from contracts.intake import SubmissionMessage
from contracts.issues import IssueEventMessage
from contracts.oversight import AssessmentMessage, OversightRecordMessage
from contracts.registry import RegistryCommandMessage, RegistryEventMessage, RegistryOutcomeMessage


class Topic(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    partitions: int
    key: str
    messages: Any  # a Struct type or a union of them
    description: str
    compacted: bool = False


SUBMISSIONS: Final = Topic(
    name="intake.submissions.v1",
    partitions=4,
    key="submission_id",
    messages=SubmissionMessage,
    description="Submissions from the gateway and other intake channels, for the intake service.",
)
ISSUE_EVENTS: Final = Topic(
    name="issue.events.v1",
    partitions=8,
    key="issue_id",
    messages=IssueEventMessage,
    description="Every event in the life of an issue, in order per issue.",
)
REVIEW_DECISIONS: Final = Topic(
    name="triage.review-decisions.v1",
    partitions=4,
    key="review_id",
    messages=ReviewDecisionMessage,
    description="The monthly reviews' decisions, a review (or a part of a big one) a record, for the triage service.",
)
HANDLER_REPLIES: Final = Topic(
    name="referral.replies.v1",
    partitions=4,
    key="issue_id",
    messages=HandlerReplyMessage,
    description="Departments' and offices' replies to referrals, for the referral service.",
)
REVIEW_OUTCOMES: Final = Topic(
    name="triage.review-outcomes.v1",
    partitions=2,
    key="review_id",
    messages=ReviewOutcomeMessage,
    description="Whether each decision of a review was applied to its issue, or refused and why (a record a part).",
)
NOTIFICATIONS: Final = Topic(
    name="feedback.notifications.v1",
    partitions=2,
    key="issue_id",
    messages=Notification,
    description="Feedback for deputies and voters, for the SMS and app senders.",
)
RATINGS: Final = Topic(
    name="feedback.ratings.v1",
    partitions=4,
    key="issue_id",
    messages=RatingMessage,
    description="Voters' ratings, and closes of issues whose voter could not be reached: for the feedback service.",
)
DEAD_LETTER: Final = Topic(
    name="platform.dead-letter.v1",
    partitions=1,
    key="the original key",
    messages=bytes,
    description="Messages that could not be decoded or processed: original bytes and headers, "
    "with dlq.* headers giving the reason, source topic, partition, offset, group and attempts.",
)

ASSESSMENTS: Final = Topic(
    name="oversight.assessments.v1",
    partitions=2,
    key="<kind>:<key>",
    messages=AssessmentMessage,
    description="Monthly assessment scores of departments, towns and villages, with the inputs behind each.",
)
OVERSIGHT_RECORDS: Final = Topic(
    name="oversight.records.v1",
    partitions=2,
    key="record_id",
    messages=OversightRecordMessage,
    description="Records oversight keeps, from the gateway: deputies' receptions and visits of voters, training "
    "sessions, emergency fund allocations to issues, and callbacks to the voters of closed issues.",
)
REGISTRY_COMMANDS: Final = Topic(
    name="registry.commands.v1",
    partitions=1,  # one at a time, in order: each is checked against everything applied before it
    key="registry",
    messages=RegistryCommandMessage,
    description="Changes to the registry (from the gateway's API and roster imports), for the registry service.",
)
REGISTRY_ENTITIES: Final = Topic(
    name="registry.entities.v1",
    partitions=1,  # one order for the whole registry: a cache never sees a station before its unit
    key="<entity>:<code>",
    messages=RegistryEventMessage,
    description="Every registry entity as it now is, or its removal. Compacted: rebuild a cache from offset 0.",
    compacted=True,
)
REGISTRY_OUTCOMES: Final = Topic(
    name="registry.outcomes.v1",
    partitions=2,
    key="command_id",
    messages=RegistryOutcomeMessage,
    description="Whether each registry command was applied, or refused and why (field, reason, line).",
)

ALL_TOPICS: Final = (
    SUBMISSIONS,
    ISSUE_EVENTS,
    REVIEW_DECISIONS,
    REVIEW_OUTCOMES,
    HANDLER_REPLIES,
    RATINGS,
    NOTIFICATIONS,
    ASSESSMENTS,
    OVERSIGHT_RECORDS,
    REGISTRY_COMMANDS,
    REGISTRY_ENTITIES,
    REGISTRY_OUTCOMES,
    DEAD_LETTER,
)

REFERRAL_TOPIC_PARTITIONS: Final = 2
_HANDLER_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def referral_topic(handler_code: str) -> Topic:
    """The topic a department or office reads its own referrals from (and nothing else)."""
    if not _HANDLER_CODE.match(handler_code):
        raise ValueError(f"handler_code {handler_code!r} must match {_HANDLER_CODE.pattern}")
    return Topic(
        name=f"referrals.{handler_code}.v1",
        partitions=REFERRAL_TOPIC_PARTITIONS,
        key="issue_id",
        messages=ReferralMessage,
        description=f"Referrals for handler {handler_code}.",
    )


# Headers set on every record besides W3C `traceparent`/`tracestate`.
HEADER_MESSAGE_TYPE: Final = "message-type"
HEADER_EVENT_ID: Final = "event-id"
HEADER_PRODUCER: Final = "producer"  # the publishing process's client id (e.g. "triage")
# Dead-letter headers.
DLQ_REASON: Final = "dlq.reason"
DLQ_TOPIC: Final = "dlq.topic"
DLQ_PARTITION: Final = "dlq.partition"
DLQ_OFFSET: Final = "dlq.offset"
DLQ_GROUP: Final = "dlq.group"
DLQ_ATTEMPTS: Final = "dlq.attempts"
