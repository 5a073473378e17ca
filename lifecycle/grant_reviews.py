"""What an edit of a service does to the authentications already granted on it.

An auth's credentials go only where they were granted (auths/grants.py). When an edit moves a
service's token, refresh, revocation or API base URL to another origin, or changes its client id,
every auth granted before the edit is stranded: the refresh, the revocation and the HTTP client
would refuse it at its next use anyway. Reviewing at the edit says so at once: each stranded auth
moves to needs_reauth with the reason (its owner hears once), the organization's event log records
the edit, and the editor is told how many auths need re-authentication.
"""

from collections import Counter, defaultdict

from django.db import transaction
from django.utils import timezone

from auths.grants import GRANTED_URLS, grant_moved_fields
from auths.models import Authentication
from events.models import EventKind
from events.recording import service_event_record
from lifecycle import state
from services.models import Service

# What a grant depends on: an edit that changes none of these strands nobody.
GRANT_FIELDS = (*GRANTED_URLS, "client_id")
LABELS = {**GRANTED_URLS, "client_id": "client id"}


def grant_fields_of(service: Service) -> dict:
    """The service's grant-relevant values, taken before an edit to compare with after it."""
    return {field: getattr(service, field) or "" for field in GRANT_FIELDS}


def _labels(fields) -> str:
    return ", ".join(LABELS[f] for f in GRANT_FIELDS if f in fields)


@transaction.atomic
def grants_review(*, service: Service, before: dict, edited_by: str) -> dict | None:
    """After `service` was edited (its grant-relevant values were `before`): move every auth the
    edit strands to needs_reauth and record the edit per organization. Returns the warning for the
    editor, or None when nobody is stranded."""
    if grant_fields_of(service) == before:
        return None  # nothing a grant depends on changed (most edits)
    now = timezone.now()
    stranded = Counter()
    fields_by_org = defaultdict(set)
    auths = Authentication.objects.filter(service=service).select_related("organization")
    for authentication in auths.iterator(chunk_size=500):
        authentication.service = service
        fields = grant_moved_fields(authentication=authentication, service=service)
        if not fields:
            continue
        stranded[authentication.organization_id] += 1
        fields_by_org[authentication.organization_id].update(fields)
        state.grant_moved(
            authentication=authentication,
            reason=(
                f"{edited_by} changed the {_labels(fields)} of {service.name} after this "
                "authentication was connected; its credentials are not sent to the new address. "
                "Re-authenticate to trust it."
            ),
            now=now,
        )
    for organization_id, count in stranded.items():
        service_event_record(
            organization_id=organization_id,
            service=service,
            kind=EventKind.SERVICE_CHANGED,
            message=(
                f"{edited_by} changed the {_labels(fields_by_org[organization_id])} of "
                f"{service.name}: {count} authentication{'s' if count != 1 else ''} must be "
                "re-authenticated before their credentials are sent there."
            ),
            data={"fields": sorted(fields_by_org[organization_id]), "authentications": count},
        )
    total = sum(stranded.values())
    if not total:
        return None
    return {
        "code": "reauthentication_needed",
        "message": (
            f"{total} authentication{'s' if total != 1 else ''} granted before this change of the "
            f"{_labels(set().union(*fields_by_org.values()))} must be re-authenticated: their "
            "credentials are not sent to the new address until their owners do. Their owners "
            "have been told."
        ),
    }
