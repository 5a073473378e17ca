"""The periodic re-evaluation of every OAuth 2.0 authentication's prediction: the service's umbrella
status or the organization's warning window may have changed since the last credential write."""

from datetime import datetime

from django.utils import timezone

from auths.models import Authentication, AuthStatus
from lifecycle import state
from services.models import AuthScheme


def expiry_evaluate_all(*, now: datetime | None = None, batch: int = 500) -> int:
    """Recompute every live OAuth 2.0 auth's schedule and prediction, and move auths into or out of
    `expiring`. Returns how many auths changed status."""
    now = now or timezone.now()
    changed = 0
    queryset = (
        Authentication.objects.filter(service__auth_scheme=AuthScheme.OAUTH2)
        .exclude(status__in=[AuthStatus.DISABLED, AuthStatus.NEEDS_REAUTH])
        .select_related("service", "organization")
        .order_by("pk")
    )
    for authentication in queryset.iterator(chunk_size=batch):
        before = authentication.status
        state.schedule(authentication=authentication)
        if state.expiry_evaluate(authentication=authentication, now=now) != before:
            changed += 1
    return changed
