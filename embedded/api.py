"""The embedded API: thin views that parse input, call one domain function and render the result.
The normal caller is the customer's backend with an organization API key."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from connections.serializers import AuthenticationSerializer, HttpResultSerializer
from embedded import codes, connect_links, end_users, instances, solution_bundles, solutions
from embedded.access import require_embedded
from embedded.models import CodePurpose
from embedded.selectors import (
    end_user_authentication_list,
    end_user_get_for_actor,
    end_user_list_for_actor,
    instance_get_for_actor,
    instance_list_for_actor,
    release_list,
    solution_list_for_actor,
)
from embedded.serializers import (
    AuthorizationCodeCreateSerializer,
    AuthorizationCodeSerializer,
    ConnectLinkCreateSerializer,
    ConnectLinkSerializer,
    EndUserAuthenticationImportSerializer,
    EndUserCreateSerializer,
    EndUserDeletionSerializer,
    EndUserSerializer,
    EndUserUpdateSerializer,
    InstanceCreateSerializer,
    InstanceRequestSerializer,
    InstanceSerializer,
    InstanceUpdateSerializer,
    ReleaseSerializer,
    SolutionCreateSerializer,
    SolutionSerializer,
    SolutionUpdateSerializer,
)
from infrastructure.errors import NotFound, RuleViolation
from infrastructure.ids import uuid_filter
from workspaces.scoping import OrganizationScopedViewSet

TAG = ["embedded"]


class _EmbeddedViewSet(OrganizationScopedViewSet):
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Before any input is read: a platform organization hears about the edition, not a field.
        require_embedded(self.actor)

    def _input(self, serializer_class):
        data = serializer_class(data=self.request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        return data.validated_data


@extend_schema(tags=TAG)
class SolutionViewSet(_EmbeddedViewSet):
    """Solutions of the embedded workspace: made from a project, laid out as wizard screens,
    published as immutable releases."""

    serializer_class = SolutionSerializer

    def scoped_queryset(self, actor):
        return solution_list_for_actor(actor=actor, search=self.request.query_params.get("search"))

    def _solution(self):
        solution = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if solution is None:
            raise NotFound("Solution not found.")
        return solution

    def _render(self, solution, code=status.HTTP_200_OK):
        return Response(SolutionSerializer(solution).data, status=code)

    @extend_schema(parameters=[OpenApiParameter("search", str)])
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(SolutionSerializer(page, many=True).data)

    @extend_schema(request=SolutionCreateSerializer, responses={201: SolutionSerializer})
    def create(self, request, *args, **kwargs):
        values = self._input(SolutionCreateSerializer)
        solution = solutions.solution_create(
            actor=self.actor,
            project=values["project"],
            name=values.get("name", ""),
            description=values.get("description", ""),
        )
        return self._render(solution, status.HTTP_201_CREATED)

    def retrieve(self, request, *args, **kwargs):
        return self._render(self._solution())

    @extend_schema(request=SolutionUpdateSerializer, responses=SolutionSerializer)
    def partial_update(self, request, *args, **kwargs):
        values = self._input(SolutionUpdateSerializer)
        solution = solutions.solution_update(actor=self.actor, solution=self._solution(), **values)
        return self._render(solution)

    def destroy(self, request, *args, **kwargs):
        solutions.solution_delete(actor=self.actor, solution=self._solution())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={201: ReleaseSerializer})
    def publish(self, request, *args, **kwargs):
        """Freeze the draft as the next release; instances follow it, or wait for their end
        user when it asks something new of them (needs_upgrade)."""
        solution = self._solution()
        release = solutions.solution_publish(actor=self.actor, solution=solution)
        counts = instances.instances_follow_release(solution=solution, release=release)
        return Response(
            {**ReleaseSerializer(release).data, "instances": counts},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=None,
        parameters=[
            OpenApiParameter("release", int, description="A release number; default: the latest.")
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def bundle(self, request, *args, **kwargs):
        """A release as a solution bundle (projects/schemas/bundle-v1.json), to import into
        another organization's embedded workspace (POST …/bundles/import/)."""
        solution = self._solution()
        release = None
        number = request.query_params.get("release")
        if number:
            if not number.isdigit() or len(number) > 9:
                raise RuleViolation("release: give a release number.", field="release")
            release = solution.releases.filter(number=int(number)).first()
            if release is None:
                raise NotFound(f"'{solution.name}' has no release {number}.", field="release")
        return Response(
            solution_bundles.solution_bundle(actor=self.actor, solution=solution, release=release)
        )

    @extend_schema(responses=ReleaseSerializer(many=True))
    def releases(self, request, *args, **kwargs):
        page = self.paginate_queryset(release_list(solution=self._solution()))
        return self.get_paginated_response(ReleaseSerializer(page, many=True).data)


@extend_schema(tags=TAG)
class InstanceViewSet(_EmbeddedViewSet):
    """End users' solution instances. They start disabled; enable them once complete."""

    serializer_class = InstanceSerializer

    def scoped_queryset(self, actor):
        params = self.request.query_params
        return instance_list_for_actor(
            actor=actor,
            end_user_id=uuid_filter(params.get("end_user"), field="end_user"),
            solution_id=uuid_filter(params.get("solution"), field="solution"),
        )

    def _instance(self):
        return instance_get_for_actor(actor=self.actor, instance_id=self.kwargs["pk"])

    def _render(self, instance, code=status.HTTP_200_OK):
        return Response(InstanceSerializer(instance).data, status=code)

    @extend_schema(
        parameters=[OpenApiParameter("end_user", str), OpenApiParameter("solution", str)]
    )
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(InstanceSerializer(page, many=True).data)

    @extend_schema(
        request=InstanceCreateSerializer,
        responses={201: InstanceSerializer},
        examples=[
            OpenApiExample(
                "An end user's instance, its CRM slot bound",
                request_only=True,
                value={
                    "solution": "5d0c…",
                    "end_user": "9a41…",
                    "config_values": {"channel": "#sales"},
                    "auth_values": [{"external_id": "crm", "authentication_id": "3b0b…"}],
                },
            )
        ],
    )
    def create(self, request, *args, **kwargs):
        values = self._input(InstanceCreateSerializer)
        instance = instances.instance_create(
            actor=self.actor,
            solution=values["solution"],
            end_user=values["end_user"],
            name=values.get("name", ""),
            config_values=values.get("config_values"),
            auth_values=[dict(v) for v in values.get("auth_values", [])],
        )
        return self._render(instance, status.HTTP_201_CREATED)

    def retrieve(self, request, *args, **kwargs):
        return self._render(self._instance())

    @extend_schema(request=InstanceUpdateSerializer, responses=InstanceSerializer)
    def partial_update(self, request, *args, **kwargs):
        values = self._input(InstanceUpdateSerializer)
        auth_values = values.get("auth_values")
        instance = instances.instance_update(
            actor=self.actor,
            instance=self._instance(),
            name=values.get("name"),
            config_values=values.get("config_values"),
            auth_values=[dict(v) for v in auth_values] if auth_values is not None else None,
        )
        return self._render(instance)

    def destroy(self, request, *args, **kwargs):
        instances.instance_delete(actor=self.actor, instance=self._instance())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=InstanceSerializer)
    def enable(self, request, *args, **kwargs):
        return self._render(instances.instance_enable(actor=self.actor, instance=self._instance()))

    @extend_schema(request=None, responses=InstanceSerializer)
    def disable(self, request, *args, **kwargs):
        return self._render(instances.instance_disable(actor=self.actor, instance=self._instance()))

    @extend_schema(request=InstanceRequestSerializer, responses=HttpResultSerializer)
    def call_api(self, request, *args, **kwargs):
        """Call the end user's API through the auth bound to a slot: the backend never holds a
        token."""
        values = self._input(InstanceRequestSerializer)
        result = instances.instance_request(
            actor=self.actor,
            instance=self._instance(),
            slot=values["slot"],
            method=values["method"],
            path_or_url=values["path"],
            query=values.get("query"),
            headers=values.get("headers"),
            json=values.get("json"),
            data=values.get("data"),
            body=values.get("body"),
        )
        return Response(HttpResultSerializer.from_result(result))


# --- authorization codes and connect links -------------------------------------------------------


@extend_schema(tags=TAG)
class EndUserCodeViewSet(_EmbeddedViewSet):
    """One-time ways in for one end user: an authorization code for the config wizard, and
    connect links that go straight to a provider's consent. Each is shown once (stored hashed),
    works once and lives 10 minutes."""

    serializer_class = AuthorizationCodeSerializer

    def scoped_queryset(self, actor):
        return end_user_list_for_actor(actor=actor)

    def _end_user(self):
        return end_user_get_for_actor(actor=self.actor, end_user_id=self.kwargs["pk"])

    @extend_schema(
        request=AuthorizationCodeCreateSerializer,
        responses={201: AuthorizationCodeSerializer},
        examples=[
            OpenApiExample(
                "A code that opens the wizard on one instance",
                request_only=True,
                value={"instance": "3f2a…"},
            ),
            OpenApiExample(
                "The code, shown once",
                response_only=True,
                status_codes=["201"],
                value={
                    "code": "b0Zq…",
                    "expires_at": "2026-05-04T10:10:00Z",
                    "wizard_url": "https://platform.example.com/embedded/acme/instances/3f2a…/configure/"
                    "?code=b0Zq…",
                    "solution": "5d0c…",
                    "instance": "3f2a…",
                },
            ),
        ],
    )
    def authorization_code(self, request, *args, **kwargs):
        """A one-time code that opens the config wizard for this end user, optionally bound to a
        published solution or to one of their instances. Send their browser to wizard_url."""
        values = self._input(AuthorizationCodeCreateSerializer)
        code, raw_code = codes.authorization_code_create(
            actor=self.actor,
            end_user=self._end_user(),
            solution=values.get("solution"),
            instance=values.get("instance"),
            purpose=CodePurpose.WIZARD,
        )
        body = {
            "code": raw_code,
            "expires_at": code.expires_at,
            "wizard_url": codes.wizard_url(
                code, raw_code, base_url=request.build_absolute_uri("/")
            ),
            "solution": code.solution_id,
            "instance": code.instance_id,
        }
        return Response(AuthorizationCodeSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ConnectLinkCreateSerializer,
        responses={201: ConnectLinkSerializer},
        examples=[
            OpenApiExample(
                "Connect the CRM slot of an instance, then come back",
                request_only=True,
                value={
                    "instance": "3f2a…",
                    "slot": "crm",
                    "return_url": "https://app.example.com/integrations/done",
                },
            ),
            OpenApiExample(
                "A service, no instance yet",
                request_only=True,
                value={"service": "8c1e…", "return_url": "https://app.example.com/connected"},
            ),
            OpenApiExample(
                "The link",
                response_only=True,
                status_codes=["201"],
                value={
                    "url": "https://platform.example.com/embedded/connect/b0Zq…/",
                    "expires_at": "2026-05-04T10:10:00Z",
                },
            ),
        ],
    )
    def connect_link(self, request, *args, **kwargs):
        """A one-time URL that takes this end user straight to a provider's consent (no login):
        for a service, or for an auth slot of one of their instances (the new auth is bound to
        it). The browser then returns to return_url, whose origin must be allowed."""
        values = self._input(ConnectLinkCreateSerializer)
        code, raw_code = connect_links.connect_link_create(
            actor=self.actor,
            end_user=self._end_user(),
            service=values.get("service"),
            instance=values.get("instance"),
            slot=values.get("slot", ""),
            return_url=values.get("return_url", ""),
        )
        body = {
            "url": connect_links.connect_link_url(
                raw_code, base_url=request.build_absolute_uri("/")
            ),
            "expires_at": code.expires_at,
        }
        return Response(ConnectLinkSerializer(body).data, status=status.HTTP_201_CREATED)


# --- end users -----------------------------------------------------------------------------------


@extend_schema(tags=TAG)
class EndUserViewSet(_EmbeddedViewSet):
    """The customer's end users: made by its backend, found again by its own id
    (`?external_user_id=`), deleted with their auths (revoked at the provider) and instances.
    Their auths are listed here, and credentials the backend already holds are imported here."""

    serializer_class = EndUserSerializer

    def scoped_queryset(self, actor):
        params = self.request.query_params
        return end_user_list_for_actor(
            actor=actor,
            search=params.get("search"),
            external_user_id=params.get("external_user_id"),
        )

    def _end_user(self):
        return end_user_get_for_actor(actor=self.actor, end_user_id=self.kwargs["pk"])

    def _render(self, end_user, code=status.HTTP_200_OK):
        return Response(EndUserSerializer(end_user).data, status=code)

    @extend_schema(
        parameters=[
            OpenApiParameter("search", str, description="Part of the external id or the name."),
            OpenApiParameter(
                "external_user_id", str, description="Your own id for the person (exact)."
            ),
        ]
    )
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(EndUserSerializer(page, many=True).data)

    @extend_schema(
        request=EndUserCreateSerializer,
        responses={201: EndUserSerializer},
        examples=[
            OpenApiExample(
                "One of your users",
                request_only=True,
                value={
                    "external_user_id": "customer-42",
                    "name": "Pat Doe",
                    "metadata": {"plan": "pro"},
                },
            )
        ],
    )
    def create(self, request, *args, **kwargs):
        values = self._input(EndUserCreateSerializer)
        end_user = end_users.end_user_create(actor=self.actor, **values)
        return self._render(end_user, status.HTTP_201_CREATED)

    def retrieve(self, request, *args, **kwargs):
        return self._render(self._end_user())

    @extend_schema(request=EndUserUpdateSerializer, responses=EndUserSerializer)
    def partial_update(self, request, *args, **kwargs):
        values = self._input(EndUserUpdateSerializer)
        end_user = end_users.end_user_update(actor=self.actor, end_user=self._end_user(), **values)
        return self._render(end_user)

    @extend_schema(
        responses=EndUserDeletionSerializer,
        examples=[
            OpenApiExample(
                "Two auths, one revocation refused by the provider",
                response_only=True,
                value={
                    "authentications_deleted": 2,
                    "authentications_revoked": 1,
                    "revocations_failed": [
                        {
                            "authentication_id": "3b0b…",
                            "name": "CRM (customer-42)",
                            "error": "The revocation endpoint answered HTTP 503.",
                        }
                    ],
                    "instances_deleted": 1,
                },
            )
        ],
    )
    def destroy(self, request, *args, **kwargs):
        """Revoke the end user's auths at the provider, delete them and the end user's instances,
        then the end user. A failed revocation does not stop it: it is listed."""
        summary = end_users.end_user_delete(actor=self.actor, end_user=self._end_user())
        return Response(EndUserDeletionSerializer(summary).data)

    @extend_schema(responses=AuthenticationSerializer(many=True))
    def authentications(self, request, *args, **kwargs):
        """The end user's auths (never a secret)."""
        auths = end_user_authentication_list(actor=self.actor, end_user=self._end_user())
        page = self.paginate_queryset(auths)
        return self.get_paginated_response(AuthenticationSerializer(page, many=True).data)

    @extend_schema(
        request=EndUserAuthenticationImportSerializer,
        responses={201: AuthenticationSerializer},
        examples=[
            OpenApiExample(
                "OAuth 2.0 tokens your backend already holds",
                request_only=True,
                value={
                    "service": "5d0c…",
                    "access_token": "ya29.a0Af…",
                    "refresh_token": "1//0g…",
                    "expires_in": 3599,
                    "scopes": ["read"],
                },
            ),
            OpenApiExample(
                "An API key",
                request_only=True,
                value={"service": "7e21…", "credentials": {"api_key": "sk_live_…"}},
            ),
        ],
    )
    def import_authentication(self, request, *args, **kwargs):
        """Import credentials the backend already holds as an auth of this end user: kept,
        refreshed and watched like any other; never shown again."""
        values = self._input(EndUserAuthenticationImportSerializer)
        auth = end_users.end_user_authentication_import(
            actor=self.actor, end_user=self._end_user(), **values
        )
        return Response(AuthenticationSerializer(auth).data, status=status.HTTP_201_CREATED)
