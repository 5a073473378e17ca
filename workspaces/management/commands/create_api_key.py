from django.core.management.base import BaseCommand, CommandError

from infrastructure.errors import DomainError
from workspaces.access import actor_for
from workspaces.api_key_management import organization_api_key_create, user_api_key_create
from workspaces.models import Membership, Organization, OrgRole


class Command(BaseCommand):
    help = (
        "Create an API key and print it once: an organization key (what an embedded customer's "
        "backend calls with), or with --member EMAIL a personal key of that member (it acts as "
        "them). People can also create keys at /account/api-keys/, owners organization keys in the "
        "admin or at /api/organizations/<slug>/api-keys/."
    )

    def add_arguments(self, parser):
        parser.add_argument("organization", help="the organization's slug")
        parser.add_argument("--name", default="", help="what the key is for")
        parser.add_argument("--member", default="", help="email of an active member")

    def handle(self, *args, organization, name, member, **options):
        found = Organization.objects.filter(slug=organization).first()
        if found is None:
            raise CommandError(f"organization: no organization has the slug '{organization}'.")
        try:
            if member:
                membership = Membership.objects.filter(
                    organization=found, user__email__iexact=member, is_active=True
                ).first()
                if membership is None:
                    raise CommandError(f"--member: {member} is no active member of '{found.slug}'.")
                _, key = user_api_key_create(user=membership.user, name=name or "script")
                what = f"a personal API key of {membership.user.email}"
            else:
                owner = Membership.objects.get(organization=found, role=OrgRole.OWNER).user
                _, key = organization_api_key_create(
                    actor=actor_for(organization=found, user=owner), name=name or "backend"
                )
                what = f"an organization API key of '{found.slug}'"
        except DomainError as error:
            raise CommandError(f"--{error.field or 'name'}: {error.message}") from None
        # Only the key on stdout, so scripts can capture it: KEY=$(manage.py create_api_key demo)
        self.stdout.write(key)
        self.stderr.write(f"Created {what} (shown once).")
