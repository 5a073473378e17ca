"""Tenancy for views: one base class that cannot be skipped, and one named way out of it.

OrganizationScopedViewSet is the base of every tenant API view:
- the organization comes from the URL (`/api/organizations/<organization_slug>/...`) and the
  credential, resolved once per request into `self.actor`; a non-member gets 404, never 403;
- subclasses implement `scoped_queryset(actor)` (calling a selector) and may not define `queryset`
  or override `get_queryset` / `get_object` (enforced at class creation);
- serializers get the actor in their context, for scoped related fields and server-set
  organization.

`dangerously_unscoped(view, why=...)` is the only other way to serve a URL: public views (schema,
docs, health) and views scoped by hand to the signed-in person instead of an organization in the
URL (their own API keys, the OAuth browser routes). It is applied where the URL is declared, so a
reviewer sees it, and tests/test_tenancy.py lists every such URL with its reason: a new one fails
the suite until it is added there on purpose.
"""

from rest_framework import permissions, viewsets
from rest_framework_api_key.models import AbstractAPIKey

from workspaces.access import Actor, actor_for_slug


class IsAuthenticatedOrApiKey(permissions.BasePermission):
    """A logged-in person, or a valid API key (an organization key has no person behind it)."""

    def has_permission(self, request, view):
        return bool(
            (request.user and request.user.is_authenticated)
            or isinstance(request.auth, AbstractAPIKey)
        )


class OrganizationScopedViewSet(viewsets.GenericViewSet):
    permission_classes = [IsAuthenticatedOrApiKey]
    actor: Actor

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Checked on the resolved class (MRO included), so a mixin cannot slip an unscoped
        # queryset or object lookup in either.
        if (
            cls.get_queryset is not OrganizationScopedViewSet.get_queryset
            or cls.get_object is not OrganizationScopedViewSet.get_object
            or getattr(cls, "queryset", None) is not None
        ):
            raise TypeError(
                f"{cls.__name__}: implement scoped_queryset(actor); queryset, get_queryset and "
                "get_object stay as OrganizationScopedViewSet defines them."
            )

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.actor = actor_for_slug(
            slug=self.kwargs["organization_slug"], user=request.user, api_key=request.auth
        )

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # Schema generation has no request and no actor; it only needs the model.
            return self.get_serializer_class().Meta.model.objects.none()
        return self.scoped_queryset(self.actor)

    def scoped_queryset(self, actor: Actor):
        raise NotImplementedError

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if hasattr(self, "actor"):
            context["actor"] = self.actor
        return context


def dangerously_unscoped(view, *, why: str):
    """Serve `view` without organization scoping; `why` says what scopes it instead (or that it
    touches no tenant data). Review every use."""
    if not why.strip():
        raise ValueError("dangerously_unscoped needs a reason.")
    view.dangerously_unscoped = why
    return view
