"""The OpenAPI schema's sections: each operation is tagged by the app that serves it, so /api/docs/
groups operations by what they act on instead of by their first path segment (which would put
nearly everything under "organizations"). An operation's own extend_schema(tags=...) wins."""

from drf_spectacular.openapi import AutoSchema

# The app of a view's module -> its section (SPECTACULAR_SETTINGS["TAGS"] lists them in order).
TAGS_BY_APP = {
    "workspaces": "organizations",
    "services": "services",
    "connections": "authentications",
    "auths": "authentications",
    "events": "lifecycle",
    "lifecycle": "lifecycle",
    "embedded": "embedded",
    "projects": "projects",
}


class TaggedAutoSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        app = type(self.view).__module__.split(".")[0]
        tag = TAGS_BY_APP.get(app)
        return [tag] if tag else super().get_tags()
