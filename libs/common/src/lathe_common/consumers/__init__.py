"""Idempotent Kafka consumers that never stall: the public surface services use.

A service declares a ``ConsumerSpec`` (topics, decoder, handler, optional batch handler) and the
service shell registers it on a ``ConsumerRuntime``. Decoders raise ``Undeliverable`` for records
that can never be processed; handlers raise ``LatheError`` for rules a message breaks; a consumer
of several event types builds its handler with ``by_event_type`` (a table, not an ``if`` chain). How each
record then ends (handled, dead-lettered with a reason, or retried in place after a pause) is
explained in ``handling``; batches in ``batches``; dead-letter copies in ``dead_letters``.
"""

from lathe_common.consumers.dead_letters import DeadLetters
from lathe_common.consumers.dispatch import batched_by_event_type, by_event_type
from lathe_common.consumers.handling import UNDECODABLE, UNHANDLED_ERROR
from lathe_common.consumers.inbox import Inbox, prune_inbox, prune_inbox_forever
from lathe_common.consumers.retries import Backoff, is_transient
from lathe_common.consumers.runtime import ConsumerRuntime
from lathe_common.consumers.spec import (
    BatchHandler,
    ConsumerSpec,
    DeadLetterListener,
    Decoded,
    Handler,
    Undeliverable,
    decode_envelope,
)

__all__ = [
    "UNDECODABLE",
    "batched_by_event_type",
    "by_event_type",
    "UNHANDLED_ERROR",
    "Backoff",
    "BatchHandler",
    "ConsumerRuntime",
    "ConsumerSpec",
    "DeadLetterListener",
    "DeadLetters",
    "Decoded",
    "Handler",
    "Inbox",
    "Undeliverable",
    "decode_envelope",
    "is_transient",
    "prune_inbox",
    "prune_inbox_forever",
]
