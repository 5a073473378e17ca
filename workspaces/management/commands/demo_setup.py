from django.core.management.base import BaseCommand

from workspaces.models import Edition, User
from workspaces.organizations import organization_create_with_owner
from workspaces.sign_in import sign_in_url, site_address

DEMO_EMAIL = "owner@demo.example"


class Command(BaseCommand):
    help = (
        "On an empty installation, create a demo organization and its owner, and print the login."
    )

    def handle(self, *args, **options):
        if User.objects.exists():
            self.stdout.write("Users exist already: no demo organization created.")
            return
        _, owner, password = organization_create_with_owner(
            name="Demo", slug="demo", edition=Edition.BOTH, owner_email=DEMO_EMAIL
        )
        owner.name = "Demo owner"
        owner.save(update_fields=["name"])
        self.stdout.write(
            self.style.SUCCESS(
                "Demo organization 'demo' created.\n"
                f"  Log in at {sign_in_url()} as {DEMO_EMAIL} with password {password}\n"
                f"  API docs: {site_address()}/api/docs/"
            )
        )
