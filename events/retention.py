"""Event retention: the event log keeps EVENT_RETENTION_DAYS of history (one row per refresh
adds up: 300,000 rows is a few months of a thousand auths), and always the latest event of each
kind of each auth, so "when was it last refreshed / last refused / created" survives any age.
Events with no auth (service- and organization-level ones) keep the latest of each kind per
organization.

Pruning goes in batches, each its own short transaction (the delete cascades to the event's
webhook and email deliveries), oldest first, reporting progress after each batch: the
`prune_events` beat task (events/tasks.py) and the `prune_events` management command run it.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from events.models import AuthEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PruneProgress:
    cutoff: datetime
    batch: int  # events deleted by the batch just done
    deleted: int  # events deleted so far
    done: bool  # nothing left to prune (False when the time budget ran out first)


def _a_newer_event_of_its_kind(**same_scope) -> Exists:
    return Exists(
        AuthEvent.objects.filter(**same_scope, kind=OuterRef("kind")).filter(
            Q(created_at__gt=OuterRef("created_at"))
            | Q(created_at=OuterRef("created_at"), id__gt=OuterRef("id"))
        )
    )


def events_prunable(*, cutoff: datetime) -> QuerySet[AuthEvent]:
    """Events older than `cutoff` that a newer event of the same kind supersedes: of the same
    auth, or for events with no auth, of the same organization."""
    of_an_auth = Q(authentication_ref__isnull=False) & _a_newer_event_of_its_kind(
        authentication_ref=OuterRef("authentication_ref")
    )
    of_no_auth = Q(authentication_ref__isnull=True) & _a_newer_event_of_its_kind(
        authentication_ref__isnull=True, organization=OuterRef("organization")
    )
    return AuthEvent.objects.filter(created_at__lt=cutoff).filter(of_an_auth | of_no_auth)


def events_prune(
    *,
    retention_days: int | None = None,
    batch_size: int | None = None,
    time_budget_seconds: float | None = None,
    progress: Callable[[PruneProgress], None] | None = None,
) -> int:
    """Delete prunable events older than `retention_days` (default EVENT_RETENTION_DAYS; 0 keeps
    everything) in batches of `batch_size` (default EVENT_PRUNE_BATCH_SIZE), oldest first. Stops
    starting batches after `time_budget_seconds` (the next run goes on). Returns how many events
    were deleted; logs and reports progress after every batch."""
    days = settings.EVENT_RETENTION_DAYS if retention_days is None else retention_days
    if days <= 0:
        return 0
    size = batch_size or settings.EVENT_PRUNE_BATCH_SIZE
    cutoff = timezone.now() - timedelta(days=days)
    started = time.monotonic()
    deleted = 0
    while True:
        ids = list(
            events_prunable(cutoff=cutoff)
            .order_by("created_at", "id")
            .values_list("id", flat=True)[:size]
        )
        batch = 0
        if ids:
            with transaction.atomic():
                _, per_model = AuthEvent.objects.filter(pk__in=ids).delete()
            batch = per_model.get(AuthEvent._meta.label, 0)
            deleted += batch
        done = len(ids) < size
        out_of_time = (
            time_budget_seconds is not None and time.monotonic() - started >= time_budget_seconds
        )
        logger.info(
            "Event retention: pruned %d events older than %s (%d in this run)%s",
            batch,
            cutoff.isoformat(),
            deleted,
            "" if done or not out_of_time else "; time budget spent, the next run goes on",
        )
        if progress is not None:
            progress(PruneProgress(cutoff=cutoff, batch=batch, deleted=deleted, done=done))
        if done or out_of_time:
            return deleted
