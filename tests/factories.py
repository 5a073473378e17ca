import factory

from workspaces.models import Edition, User
from workspaces.organizations import organization_create


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def make_organization(*, owner=None, edition=Edition.PLATFORM, name=None):
    """An organization made the only way organizations are made: through the domain function."""
    owner = owner or UserFactory()
    name = name or f"Org {User.objects.count()}-{owner.pk}"
    return organization_create(name=name, owner=owner, edition=edition)
