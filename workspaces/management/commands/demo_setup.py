import secrets

from django.core.management.base import BaseCommand

from workspaces.models import Edition, User
from workspaces.organizations import organization_create

DEMO_EMAIL = "owner@demo.example"


class Command(BaseCommand):
    help = (
        "On an empty installation, create a demo organization and its owner, and print the login."
    )

    def handle(self, *args, **options):
        if User.objects.exists():
            self.stdout.write("Users exist already: no demo organization created.")
            return
        password = secrets.token_urlsafe(12)
        owner = User.objects.create_user(email=DEMO_EMAIL, password=password, name="Demo owner")
        organization_create(name="Demo", slug="demo", edition=Edition.BOTH, owner=owner)
        self.stdout.write(
            self.style.SUCCESS(
                "Demo organization 'demo' created.\n"
                f"  Log in at http://127.0.0.1:8000/admin/ as {DEMO_EMAIL} with password {password}\n"
                "  API docs: http://127.0.0.1:8000/api/docs/"
            )
        )
