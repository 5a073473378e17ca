from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    """Projects: workflows whose steps call services through auth slots, and the config slots a
    person (or an end user, once published as a solution) fills in."""

    name = "projects"
    verbose_name = "Projects"
