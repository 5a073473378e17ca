"""What the lifecycle's events and webhooks say about an end user's authentication, so the embedded
customer can tell the right person, days before an auth dies, where to go:

- `end_user`: {id, external_user_id}: the end user, by the customer's own id;
- `instance_ids`: the solution instances that use the auth (bound to one of their slots);
- `reauthentication`: {authentication_id, url}: where to send the end user to re-authenticate it,
  the auth-only dialog's path (left out of a deletion's event: there is nothing left to
  re-authenticate).

events/recording.py asks this module (registered in apps.py as an event context provider) when it
records an event, and stores the answer with it: the event of a deletion, delivered after the auth
and its end user are gone, still says whose it was. A member's auth gets nothing here, so its
events and webhook payloads are unchanged. End users are never emailed (events/notifications.py):
the customer owns that relationship, and these payloads are how it learns what to tell them.
"""

from urllib.parse import urlencode

from django.urls import reverse

from auths.models import Authentication
from embedded.models import InstanceAuth
from events.models import EventKind
from workspaces.models import EndUser

# Kinds after which the auth no longer exists: a re-authentication link would lead nowhere.
_GONE = {EventKind.DELETED}


def reauthentication_url(authentication: Authentication) -> str:
    """The path of the auth-only dialog (pages/wizard_urls.py, named embedded-auth-dialog) that
    re-authenticates this auth in place: it keeps its id and its bindings. The dialog names the
    auth's service and the auth; the customer's backend adds `&code=<a fresh authorization code>`
    for the end user (a path on the platform's host: prefix it with the platform's address)."""
    path = reverse(
        "embedded-auth-dialog",
        kwargs={
            "organization_slug": authentication.organization.slug,
            "target": str(authentication.service_id),
        },
    )
    return f"{path}?{urlencode({'authentication': str(authentication.pk)})}"


def end_user_summary(end_user: EndUser) -> dict:
    return {"id": str(end_user.pk), "external_user_id": end_user.external_user_id}


def end_user_event_context(authentication: Authentication, kind: str) -> dict:
    """The context of an event about `authentication`; {} for a member's auth (no query)."""
    if authentication.end_user_id is None:
        return {}
    instance_ids = (
        InstanceAuth.objects.filter(authentication_id=authentication.pk)
        .order_by("instance_id")
        .values_list("instance_id", flat=True)
        .distinct()
    )
    context = {
        "end_user": end_user_summary(authentication.end_user),
        "instance_ids": [str(pk) for pk in instance_ids],
    }
    if kind not in _GONE:
        context["reauthentication"] = {
            "authentication_id": str(authentication.pk),
            "url": reauthentication_url(authentication),
        }
    return context
