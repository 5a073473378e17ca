"""What happens around a refresh, called by auths/refresh.py (the per-auth critical section) after
its transaction committed. refresh.py records the refreshed / recovered / needs_reauth /
refresh_failed events itself; these hooks add the lifecycle on top:

- refresh_columns: called by refresh.py INSIDE its transaction, before the fenced credential
  UPDATE: the refresh-token lifetime the response declared, the cleared cooldown, the next
  refresh_due_at and the prediction, written by that same UPDATE (one statement, not a second
  UPDATE after commit).
- after_refresh: new credentials were saved. Update the `expiring` status, close a
  transient-failure episode ("recovered" when the auth never reached `error`), and let an auth
  that outlived its service's suspected test-status limit clear the flag.
- after_connect: a person (re-)authorized; see its docstring.
- after_rejection: the provider refused the grant (invalid_grant / unauthorized_client) and the
  auth is needs_reauth. Stop scheduling it, and learn from it: an early death flags the auth, and
  a cluster of early deaths flags the service.
"""

import logging

from django.db import DatabaseError, transaction
from django.utils import timezone

from auths.models import Authentication, EventKind

logger = logging.getLogger(__name__)


def refresh_columns(authentication: Authentication, token_response, *, now) -> dict:
    """Lifecycle columns of a successful refresh, set on the instance and returned as
    {field: value} for refresh.py's fenced UPDATE (the token response is already applied)."""
    from auths.expiry import declared_expiry
    from auths.scheduling import schedule_values

    changes = declared_expiry(authentication=authentication, token_response=token_response, now=now)
    changes["last_refresh_failed_at"] = None
    for name, value in changes.items():
        setattr(authentication, name, value)
    schedule = schedule_values(authentication)  # after the declared lifetime: it feeds the death
    for name, value in schedule.items():
        setattr(authentication, name, value)
    return {**changes, **schedule}


def after_refresh(authentication: Authentication, token_response) -> None:
    """After commit; refresh_columns already went into the refresh's own UPDATE."""
    from auths.early_expiry import service_flag_clear_if_outlived
    from auths.events import event_record
    from auths.expiry import authentication_expiry_evaluate

    now = timezone.now()
    # notified_status as read under refresh.py's row lock: the episode that was open.
    episode_open = authentication.notified_status
    if episode_open == EventKind.REFRESH_FAILED:
        event_record(
            authentication=authentication,
            kind=EventKind.RECOVERED,
            message="Refresh works again after transient failures.",
        )
    service_flag_clear_if_outlived(authentication=authentication, now=now)
    authentication_expiry_evaluate(authentication=authentication, now=now)


def after_rejection(authentication: Authentication, error) -> None:
    from auths.early_expiry import rejection_analyse

    Authentication.objects.filter(pk=authentication.pk).update(refresh_due_at=None)
    authentication.refresh_due_at = None
    try:
        with transaction.atomic():  # a savepoint: a failure here leaves the rejection recorded
            rejection_analyse(authentication=authentication)
    except DatabaseError:
        logger.exception("early-expiry analysis failed for %s", authentication.pk)


def after_connect(authentication: Authentication, token_response, *, reauthorized: bool) -> None:
    """New credentials from a person (created, or re-authorized in place). Schedule the first
    refresh, predict the refresh token's death (an auth on a test-status service shows its date
    and reason from the start), and drop the previous grant's early-death flag and cooldown."""
    from auths.early_expiry import EARLY_FLAG
    from auths.expiry import authentication_expiry_evaluate, declared_expiry
    from auths.scheduling import authentication_schedule

    now = timezone.now()
    changes = {
        "flags": [f for f in (authentication.flags or []) if f.get("code") != EARLY_FLAG],
        "last_refresh_failed_at": None,
    }
    if token_response is not None:
        changes.update(
            declared_expiry(authentication=authentication, token_response=token_response, now=now)
        )
    authentication_schedule(authentication, also=changes)
    authentication_expiry_evaluate(authentication=authentication, now=now)
