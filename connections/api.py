"""Authentications API and the OAuth browser routes: thin views that parse input, call one domain
function and render the result."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_api_key.models import AbstractAPIKey

from auths.selectors import (
    authentication_get_for_actor,
    authentication_list_for_actor,
    oauth_transaction_for_user,
)
from connections import authentications, browser_flows
from connections.client_credentials import authentication_create_client_credentials
from connections.connection import authentication_warnings
from connections.generic_auth import authentication_create_generic
from connections.http_client import http_request
from connections.password_grant import authentication_create_password
from connections.reauthentication import authentication_reauthenticate
from connections.serializers import (
    AUTHENTICATION_COLUMNS,
    AuthenticationSerializer,
    ClientCredentialsCreateSerializer,
    DeleteResultSerializer,
    GenericCreateSerializer,
    HttpRequestSerializer,
    HttpResultSerializer,
    MoveSerializer,
    OAuthStartResultSerializer,
    OAuthStartSerializer,
    PasswordCreateSerializer,
    ReauthenticateSerializer,
    RenameSerializer,
    TokenCreateSerializer,
)
from connections.token_auth import authentication_create_token
from connections.transactions import AuthorizationStart, CallbackRefused
from embedded import connect_links
from infrastructure.errors import NotFound
from services.selectors import service_visible_to_user
from workspaces.scoping import IsAuthenticatedOrApiKey, OrganizationScopedViewSet


def _base_url(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _start_result(request, start) -> dict:
    return OAuthStartResultSerializer(
        {
            "transaction": start.transaction.pk,
            "authorize_url": start.authorize_url,
            "start_url": request.build_absolute_uri(start.start_path),
            "expires_at": start.transaction.expires_at,
            "warnings": authentication_warnings(start.transaction.service),
        }
    ).data


class AuthenticationViewSet(OrganizationScopedViewSet):
    serializer_class = AuthenticationSerializer

    def scoped_queryset(self, actor):
        return authentication_list_for_actor(actor=actor)

    def _input(self, serializer_class):
        data = serializer_class(data=self.request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        return data.validated_data

    def _auth(self):
        return authentication_get_for_actor(actor=self.actor, authentication_id=self.kwargs["pk"])

    def _render(self, auth, code=status.HTTP_200_OK):
        return Response(AuthenticationSerializer(auth).data, status=code)

    def list(self, request, *args, **kwargs):
        shown = authentication_list_for_actor(actor=self.actor, columns=AUTHENTICATION_COLUMNS)
        page = self.paginate_queryset(shown)
        return self.get_paginated_response(AuthenticationSerializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return self._render(
            authentication_get_for_actor(
                actor=self.actor,
                authentication_id=self.kwargs["pk"],
                columns=AUTHENTICATION_COLUMNS,
            )
        )

    @extend_schema(request=RenameSerializer, responses=AuthenticationSerializer)
    def partial_update(self, request, *args, **kwargs):
        values = self._input(RenameSerializer)
        auth = authentications.authentication_rename(
            actor=self.actor, authentication=self._auth(), name=values["name"]
        )
        return self._render(auth)

    @extend_schema(responses=DeleteResultSerializer)
    def destroy(self, request, *args, **kwargs):
        result = authentications.authentication_delete(
            actor=self.actor, authentication=self._auth()
        )
        return Response(DeleteResultSerializer(result).data)

    @extend_schema(request=MoveSerializer, responses=AuthenticationSerializer)
    def move(self, request, *args, **kwargs):
        values = self._input(MoveSerializer)
        auth = authentications.authentication_move(
            actor=self.actor, authentication=self._auth(), workspace=values["workspace"]
        )
        return self._render(auth)

    @extend_schema(request=TokenCreateSerializer, responses={201: AuthenticationSerializer})
    def create_token(self, request, *args, **kwargs):
        values = self._input(TokenCreateSerializer)
        auth = authentication_create_token(
            actor=self.actor,
            service=values["service"],
            workspace=values.get("workspace"),
            name=values.get("name", ""),
            credentials=values["credentials"],
            parameters=values.get("parameters"),
        )
        return self._render(auth, status.HTTP_201_CREATED)

    @extend_schema(request=GenericCreateSerializer, responses={201: AuthenticationSerializer})
    def create_generic(self, request, *args, **kwargs):
        values = self._input(GenericCreateSerializer)
        auth = authentication_create_generic(
            actor=self.actor,
            workspace=values.get("workspace"),
            name=values.get("name", ""),
            definition=values["definition"],
            credentials=values["credentials"],
        )
        return self._render(auth, status.HTTP_201_CREATED)

    @extend_schema(
        request=ClientCredentialsCreateSerializer, responses={201: AuthenticationSerializer}
    )
    def create_client_credentials(self, request, *args, **kwargs):
        values = self._input(ClientCredentialsCreateSerializer)
        auth = authentication_create_client_credentials(
            actor=self.actor,
            service=values["service"],
            workspace=values.get("workspace"),
            name=values.get("name", ""),
            scopes=values.get("scopes"),
            parameters=values.get("parameters"),
        )
        return self._render(auth, status.HTTP_201_CREATED)

    @extend_schema(request=PasswordCreateSerializer, responses={201: AuthenticationSerializer})
    def create_password(self, request, *args, **kwargs):
        values = self._input(PasswordCreateSerializer)
        auth = authentication_create_password(
            actor=self.actor,
            service=values["service"],
            workspace=values.get("workspace"),
            name=values.get("name", ""),
            username=values["username"],
            password=values["password"],
            scopes=values.get("scopes"),
            parameters=values.get("parameters"),
        )
        return self._render(auth, status.HTTP_201_CREATED)

    @extend_schema(request=OAuthStartSerializer, responses={201: OAuthStartResultSerializer})
    def oauth_start(self, request, *args, **kwargs):
        values = self._input(OAuthStartSerializer)
        start = browser_flows.oauth_authorization_start(
            actor=self.actor,
            service=values["service"],
            workspace=values.get("workspace"),
            name=values.get("name", ""),
            scopes=values.get("scopes"),
            parameters=values.get("parameters"),
            base_url=_base_url(request),
        )
        return Response(_start_result(request, start), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ReauthenticateSerializer,
        responses={200: AuthenticationSerializer, 201: OAuthStartResultSerializer},
        description="Token, client-credentials and password auths are re-authenticated at once "
        "(200, the authentication); browser flows return where to send the person (201).",
    )
    def reauthenticate(self, request, *args, **kwargs):
        values = self._input(ReauthenticateSerializer)
        result = authentication_reauthenticate(
            actor=self.actor,
            authentication=self._auth(),
            inputs=values,
            base_url=_base_url(request),
        )
        if isinstance(result, AuthorizationStart):
            return Response(_start_result(request, result), status=status.HTTP_201_CREATED)
        return self._render(result)

    @extend_schema(request=None, responses=AuthenticationSerializer)
    def disable(self, request, *args, **kwargs):
        auth = authentications.authentication_disable(actor=self.actor, authentication=self._auth())
        return self._render(auth)

    @extend_schema(request=None, responses=AuthenticationSerializer)
    def enable(self, request, *args, **kwargs):
        auth = authentications.authentication_enable(actor=self.actor, authentication=self._auth())
        return self._render(auth)

    @extend_schema(request=HttpRequestSerializer, responses=HttpResultSerializer)
    def call_api(self, request, *args, **kwargs):
        values = self._input(HttpRequestSerializer)
        result = http_request(
            authentication=self._auth(),
            method=values["method"],
            path_or_url=values["path"],
            query=values.get("query"),
            headers=values.get("headers"),
            json=values.get("json"),
            data=values.get("data"),
            body=values.get("body"),
        )
        return Response(HttpResultSerializer.from_result(result))


# --- browser routes -----------------------------------------------------------------------------


NO_REFERRER = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
# Where a member starts connecting again (pages/urls.py); a URL name, so no import of the pages.
CONNECTIONS_PAGE = "connections:list"


def wants_html(request) -> bool:
    """A browser navigating (it asks for text/html by name); API clients, which send */* or JSON,
    keep the JSON answers."""
    return "text/html" in request.META.get("HTTP_ACCEPT", "")


# What a person is told when a browser route cannot go on, by the kind of refusal.
SIGN_IN_TO_FINISH = (
    "Sign in to finish connecting",
    "This address finishes connecting an account for the person who started it, and this "
    "browser is not signed in (the session may have ended, or the connection was started in "
    "another browser). Nothing was saved. Sign in, then start connecting again from the "
    "Connections page.",
)
NOT_YOURS = (
    "This sign-in link cannot be used",
    "It does not exist, or it belongs to someone else's sign-in. Nothing was saved. Start "
    "connecting again from the Connections page.",
)


class _BrowserView(APIView):
    """Scoped by hand to the signed-in person (see connections/urls.py): a transaction is visible
    only to who started it, a service only to members of its organization. An organization API
    key (no person) gets 404.

    A browser (Accept: text/html) gets a page that says what happened and what to do instead of
    the JSON error: signing in, or starting again."""

    permission_classes = [IsAuthenticatedOrApiKey]

    def person(self, request):
        if not request.user.is_authenticated:
            raise NotFound("Not found.")
        return request.user

    def page(
        self,
        request,
        *,
        title,
        message,
        ok,
        code=200,
        authentication=None,
        sign_in=False,
        for_end_user=False,
    ):
        """`for_end_user`: an end user of an embedded solution, who has no member pages to go
        back to (no links then)."""
        request = getattr(request, "_request", request)
        response = render(
            request,
            "connections/oauth_result.html",
            {
                "title": title,
                "message": message,
                "ok": ok,
                "authentication": authentication,
                "sign_in": sign_in and not request.user.is_authenticated,
                "start_again_url": "" if for_end_user else reverse(CONNECTIONS_PAGE),
            },
            status=code,
        )
        for name, value in NO_REFERRER.items():
            response[name] = value
        return response

    def handle_exception(self, exc):
        if not wants_html(self.request):
            return super().handle_exception(exc)
        signed_in = self.request.user.is_authenticated
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed) or (
            not signed_in and isinstance(exc, NotFound | exceptions.NotFound)
        ):
            title, message = SIGN_IN_TO_FINISH
            return self.page(
                self.request, title=title, message=message, ok=False, code=401, sign_in=True
            )
        if isinstance(exc, NotFound | exceptions.NotFound | exceptions.PermissionDenied):
            title, message = NOT_YOURS
            return self.page(self.request, title=title, message=message, ok=False, code=404)
        return super().handle_exception(exc)


class OAuthStartView(_BrowserView):
    """/api/oauth/start/<transaction>/: redirect the person's browser to the provider."""

    @extend_schema(responses={302: None})
    def get(self, request, transaction_id):
        user = self.person(request)
        oauth_transaction_for_user(user=user, transaction_id=transaction_id)
        try:
            url = browser_flows.oauth_authorization_restart(
                user=user, transaction_id=transaction_id
            )
        except CallbackRefused as refusal:
            return self.page(
                request, title="Sign-in refused", message=refusal.message, ok=False, code=400
            )
        response = redirect(url)
        response["Referrer-Policy"] = "no-referrer"
        return response


class OAuthCallbackView(_BrowserView):
    """/api/oauth/callback/<service>/: the provider's redirect back. Refusals render a 400 page;
    otherwise the browser goes on to the clean result page (no code in its URL), or, for a flow
    started from a page of ours (a return path on the transaction), back to that page with a
    message saying what happened.

    A flow started for an end user (a connect link) is answered with no session: its single-use
    state is the proof (connections/browser_flows.py), and the browser then goes where the link
    asked (embedded/connect_links.py). Every other answer needs the person who started it, as
    before: without a session it is refused as unauthenticated (a page for a browser)."""

    permission_classes = [AllowAny]

    def person(self, request):
        if not request.user.is_authenticated and not isinstance(request.auth, AbstractAPIKey):
            raise exceptions.NotAuthenticated()
        return super().person(request)

    @extend_schema(responses={302: None, 400: None})
    def get(self, request, service_id):
        query = request.GET.dict()
        try:
            txn = browser_flows.end_user_oauth_callback(service_id=service_id, query=query)
            if txn is None:
                user = self.person(request)
                service = service_visible_to_user(user=user, service_id=service_id)
                txn = browser_flows.oauth_callback(user=user, service=service, query=query)
        except CallbackRefused as refusal:
            return self.page(
                request, title="Sign-in refused", message=refusal.message, ok=False, code=400
            )
        if txn.end_user_id is not None:
            outcome = connect_links.end_user_flow_finish(txn=txn, query=query)
            if not outcome.redirect_url:
                return self.page(
                    request,
                    title=outcome.title,
                    message=outcome.message,
                    ok=outcome.ok,
                    authentication=outcome.authentication,
                    for_end_user=True,
                )
            response = HttpResponseRedirect(outcome.redirect_url)
            # An end user's consent may run in a popup of the wizard (pages/wizard_views.py):
            # COOP same-origin on this redirect would cut the popup from the page that opened it.
            response["Cross-Origin-Opener-Policy"] = "unsafe-none"
        elif txn.return_url:
            ok, message = browser_flows.flow_outcome(txn)
            messages.add_message(
                request._request, messages.SUCCESS if ok else messages.ERROR, message
            )
            # Checked again on the way out: only a path on this site (a member's own start).
            response = HttpResponseRedirect(browser_flows.member_return_path(txn.return_url))
        else:
            response = redirect("oauth-result", transaction_id=txn.pk)
        for name, value in NO_REFERRER.items():
            response[name] = value
        return response


class OAuthResultView(_BrowserView):
    """/api/oauth/result/<transaction>/: what came of the sign-in, for the person who started it."""

    @extend_schema(responses={200: None})
    def get(self, request, transaction_id):
        txn = oauth_transaction_for_user(user=self.person(request), transaction_id=transaction_id)
        ok, message = browser_flows.flow_outcome(txn)
        if ok:
            return self.page(
                request,
                title="Connected",
                message=f"{message} You can close this window.",
                ok=True,
                authentication=txn.result_authentication,
            )
        return self.page(request, title="Not connected", message=message, ok=False)
