from django.core.management.base import BaseCommand, CommandError

from infrastructure.errors import DomainError
from workspaces.models import Edition, User
from workspaces.organizations import organization_create


class Command(BaseCommand):
    help = "Create an organization with its owner (an existing user) and its workspaces."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--slug", default="")
        parser.add_argument("--edition", choices=Edition.values, default=Edition.PLATFORM)

    def handle(self, *args, name, owner_email, slug, edition, **options):
        owner = User.objects.filter(email__iexact=owner_email).first()
        if owner is None:
            raise CommandError(
                f"--owner-email: no user has the email {owner_email}; create it first."
            )
        try:
            organization = organization_create(name=name, slug=slug, edition=edition, owner=owner)
        except DomainError as error:
            raise CommandError(f"{error.field or 'organization'}: {error.message}") from None
        self.stdout.write(self.style.SUCCESS(f"Created organization '{organization.slug}'."))
