from django.core.management.base import BaseCommand, CommandError

from infrastructure.errors import DomainError
from workspaces.models import Edition
from workspaces.organizations import organization_create_with_owner
from workspaces.sign_in import sign_in_url

OPTION_OF_FIELD = {"email": "--owner-email", "slug": "--slug", "name": "name"}


class Command(BaseCommand):
    help = (
        "Create an organization with its owner and its workspaces. The owner is created when no "
        "user has that email, with a generated password printed once; the output says where and "
        "how to sign in."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--slug", default="")
        parser.add_argument("--edition", choices=Edition.values, default=Edition.PLATFORM)

    def handle(self, *args, name, owner_email, slug, edition, **options):
        try:
            organization, owner, password = organization_create_with_owner(
                name=name, owner_email=owner_email, slug=slug, edition=edition
            )
        except DomainError as error:
            option = OPTION_OF_FIELD.get(error.field, error.field or "organization")
            raise CommandError(f"{option}: {error.message}") from None
        self.stdout.write(self.style.SUCCESS(f"Created organization '{organization.slug}'."))
        if password is None:
            self.stdout.write(
                f"  {owner.email} signs in at {sign_in_url()} with their existing password."
            )
        else:
            self.stdout.write(
                f"  Created the owner {owner.email}.\n"
                f"  Sign in at {sign_in_url()} as {owner.email} with the password {password} "
                "(shown once: change it after signing in, under Change password)."
            )
