from django.core.management.base import BaseCommand, CommandError

from infrastructure.errors import DomainError
from workspaces.access import actor_for
from workspaces.api_key_management import organization_api_key_create
from workspaces.models import Membership, Organization, OrgRole


class Command(BaseCommand):
    help = (
        "Create an organization API key (what an embedded customer's backend calls with) as the "
        "organization's owner, and print it once. Owners can also create keys in the admin or at "
        "/api/organizations/<slug>/api-keys/."
    )

    def add_arguments(self, parser):
        parser.add_argument("organization", help="the organization's slug")
        parser.add_argument("--name", default="backend", help="what the key is for")

    def handle(self, *args, organization, name, **options):
        found = Organization.objects.filter(slug=organization).first()
        if found is None:
            raise CommandError(f"organization: no organization has the slug '{organization}'.")
        owner = Membership.objects.get(organization=found, role=OrgRole.OWNER).user
        try:
            _, key = organization_api_key_create(
                actor=actor_for(organization=found, user=owner), name=name
            )
        except DomainError as error:
            raise CommandError(f"--{error.field or 'name'}: {error.message}") from None
        # Only the key on stdout, so scripts can capture it: KEY=$(manage.py create_api_key demo)
        self.stdout.write(key)
        self.stderr.write(f"Created the API key '{name}' of '{found.slug}' (shown once).")
