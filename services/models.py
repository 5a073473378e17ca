"""One service-definition schema for catalog connectors, custom services and generic (inline)
service authentications alike: providers are data, not code."""

import uuid

from django.db import models
from django.db.models import Q

from infrastructure.encryption import EncryptedTextField
from workspaces.models import Organization, User, Workspace


class ServiceSource(models.TextChoices):
    CONNECTOR = "connector", "Connector (catalog)"
    CUSTOM = "custom", "Custom service"
    # A token-only definition made inline with one authentication; never listed as a service.
    GENERIC = "generic", "Generic service authentication"


class AuthScheme(models.TextChoices):
    OAUTH2 = "oauth2", "OAuth 2.0"
    OAUTH1 = "oauth1", "OAuth 1.0a (discouraged)"
    TOKEN = "token", "Token (API key, bearer or basic)"


class GrantType(models.TextChoices):
    AUTHORIZATION_CODE = "authorization_code", "Authorization code (PKCE)"
    CLIENT_CREDENTIALS = "client_credentials", "Client credentials"
    PASSWORD = "password", "Password (discouraged)"


class ClientAuthMethod(models.TextChoices):
    BASIC = "basic", "HTTP Basic header"
    BODY = "body", "Request body"


class CredentialPlacement(models.TextChoices):
    HEADER = "header", "Header (name + prefix)"
    QUERY = "query", "Query parameter"
    BASIC = "basic", "HTTP Basic"


class UmbrellaStatus(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    TEST = "test", "Test / demo status"
    VERIFIED = "verified", "Verified"


class Service(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source = models.CharField(max_length=16, choices=ServiceSource.choices)
    # Connectors belong to no organization; custom and generic services belong to one.
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="services"
    )
    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.PROTECT, related_name="services"
    )
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="owned_services"
    )
    # "Bring your own OAuth app": a custom service made from a connector's definition.
    template = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="derived_services"
    )

    # Identity
    slug = models.SlugField(max_length=80)
    name = models.CharField(max_length=200)
    icon = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    documentation_url = models.URLField(max_length=500, blank=True)

    # Auth scheme
    auth_scheme = models.CharField(max_length=16, choices=AuthScheme.choices)
    grant_type = models.CharField(max_length=32, choices=GrantType.choices, blank=True)
    pkce = models.BooleanField(
        default=True, help_text="PKCE S256; switch off only for providers that reject it."
    )
    discouraged_acknowledged = models.BooleanField(
        default=False, help_text="Required for OAuth2 password grant and OAuth1."
    )

    # OAuth endpoints (may contain {{placeholders}})
    authorize_url = models.CharField(max_length=1000, blank=True)
    token_url = models.CharField(max_length=1000, blank=True)
    refresh_url = models.CharField(max_length=1000, blank=True)
    revoke_url = models.CharField(max_length=1000, blank=True)
    request_token_url = models.CharField(max_length=1000, blank=True, help_text="OAuth1 only.")
    issuer = models.CharField(
        max_length=1000,
        blank=True,
        help_text="Expected `iss` in the authorization response (RFC 9207).",
    )
    scopes_available = models.JSONField(default=list, blank=True)
    scopes_default = models.JSONField(default=list, blank=True)
    scope_separator = models.CharField(max_length=4, default=" ", blank=True)
    authorize_params = models.JSONField(default=dict, blank=True)
    token_params = models.JSONField(default=dict, blank=True)
    refresh_params = models.JSONField(default=dict, blank=True)
    client_auth_method = models.CharField(
        max_length=8, choices=ClientAuthMethod.choices, default=ClientAuthMethod.BASIC
    )
    client_id = models.CharField(max_length=500, blank=True)
    client_secret = EncryptedTextField(null=True, blank=True)

    # How the API is called
    base_url = models.CharField(max_length=1000, blank=True)
    credential_placement = models.CharField(
        max_length=8, choices=CredentialPlacement.choices, default=CredentialPlacement.HEADER
    )
    credential_header_name = models.CharField(max_length=100, default="Authorization", blank=True)
    credential_prefix = models.CharField(max_length=50, default="Bearer", blank=True)
    credential_query_param = models.CharField(max_length=100, blank=True)
    # A cheap read that answers 2xx when the credentials work (GitHub's /user): the Test button of
    # the Connections page calls it through the HTTP client. Blank: the service cannot be tested.
    test_path = models.CharField(
        max_length=500,
        blank=True,
        help_text="A GET path on the base URL that answers 2xx when the credentials work, e.g. "
        "/user. Members test their auths with it.",
    )

    # Values a person fills in when authenticating:
    # [{"name", "title", "type", "required", "secret", "pattern", "default", "description"}]
    parameters = models.JSONField(default=list, blank=True)

    # Token-response handling
    default_token_lifetime = models.PositiveIntegerField(
        default=3600,
        help_text="Seconds, used when a token response has no expires_in (never 'never').",
    )
    token_path = models.CharField(
        max_length=200,
        blank=True,
        help_text="Dotted path to the access token when not `access_token`.",
    )
    token_response_parameters = models.JSONField(
        default=dict,
        blank=True,
        help_text="Token-response field -> parameter name, e.g. instance_url.",
    )
    expired_status_codes = models.JSONField(default=list, blank=True)
    rotates_refresh_tokens = models.BooleanField(default=False)
    refresh_lead_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Refresh this long before expiry; default max(5 min, 10% of lifetime).",
    )
    token_request_timeout = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Seconds a whole token request may take (1 to 120); default "
        "TOKEN_REQUEST_DEADLINE_SECONDS (60).",
    )

    # Umbrella application: the provider-side OAuth app and what is known of its lifetimes (seconds)
    umbrella_status = models.CharField(
        max_length=16, choices=UmbrellaStatus.choices, default=UmbrellaStatus.UNKNOWN
    )
    access_token_lifetime = models.PositiveIntegerField(null=True, blank=True)
    refresh_token_max_age = models.PositiveIntegerField(null=True, blank=True)
    refresh_token_idle_timeout = models.PositiveIntegerField(null=True, blank=True)
    test_refresh_token_lifetime = models.PositiveIntegerField(null=True, blank=True)
    test_exempt_scopes = models.JSONField(
        default=list,
        blank=True,
        help_text="If an auth asks only for these scopes, test status does not shorten it.",
    )

    # Early-expiry detection (lifecycle): set when auths keep dying at a similar short age.
    suspected_test_status = models.BooleanField(default=False)
    suspected_evidence = models.JSONField(default=dict, blank=True)
    suspected_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            # The custom-services list (and the picker's custom half): an organization's services
            # of one source, by name.
            models.Index(
                fields=["organization", "source", "name"], name="service_org_source_name_idx"
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["slug"],
                condition=Q(source="connector"),
                name="service_connector_slug_unique",
            ),
            models.UniqueConstraint(
                fields=["organization", "slug"],
                condition=Q(source="custom"),
                name="service_custom_slug_unique",
            ),
            models.CheckConstraint(
                condition=(
                    Q(source="connector") & Q(organization__isnull=True) & Q(owner__isnull=True)
                )
                | (~Q(source="connector") & Q(organization__isnull=False)),
                name="service_tenancy_by_source",
            ),
            models.CheckConstraint(
                condition=~Q(source="custom")
                | (Q(owner__isnull=False) & Q(workspace__isnull=False)),
                name="service_custom_has_owner_and_workspace",
            ),
            models.CheckConstraint(
                condition=~Q(source="generic") | Q(auth_scheme="token"),
                name="service_generic_is_token_only",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def effective_expired_status_codes(self) -> list[int]:
        return self.expired_status_codes or [401]
