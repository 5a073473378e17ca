"""API throttling (settings.REST_FRAMEWORK: DEFAULT_THROTTLE_CLASSES and DEFAULT_THROTTLE_RATES,
from API_THROTTLE_USER_RATE and API_THROTTLE_ANON_RATE). Every caller has a budget:

- a person — signed in with a session or with one of their user API keys — one budget, by user;
- an organization API key (an embedded customer's backend; it has no person) a budget of its own;
- anonymous callers one budget per address (REMOTE_ADDR; X-Forwarded-For counts only when
  API_NUM_PROXIES says a proxy sets it).

Past it the API answers 429 with Retry-After, in the API's one error shape
(infrastructure/api_errors.py). Rates are read on every request, so a settings change (a test's
override) applies at once; DRF's own classes bind them at import.
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from workspaces.models import OrganizationAPIKey


class _RatesFromSettings(SimpleRateThrottle):
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class CallerRateThrottle(_RatesFromSettings):
    """A person (session or user key) by user; an organization key by key."""

    scope = "user"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        elif isinstance(request.auth, OrganizationAPIKey):
            ident = f"organization-key-{request.auth.pk}"
        else:
            return None  # anonymous: AnonymousRateThrottle
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonymousRateThrottle(_RatesFromSettings):
    """Callers with no credential, by address."""

    scope = "anon"

    def get_cache_key(self, request, view):
        if (request.user and request.user.is_authenticated) or request.auth is not None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
