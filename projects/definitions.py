# TEMPORARY stand-in (replaced by the projects branch): the snapshot contract only.


def project_snapshot(project) -> dict:
    return {
        "auth_slots": [
            {
                "external_id": s.external_id,
                "title": s.title,
                "service": str(s.service_id),
                "service_name": s.service.name,
                "auth_scheme": s.service.auth_scheme,
                "scopes": list(s.scopes or []),
                "hidden": s.hidden or s.static_authentication_id is not None,
                "static_authentication": (
                    str(s.static_authentication_id) if s.static_authentication_id else None
                ),
                "force_unique": s.force_unique,
            }
            for s in project.auth_slots.select_related("service").order_by("position", "id")
        ],
        "config_slots": [
            {
                "external_id": s.external_id,
                "title": s.title,
                "help_text": s.help_text,
                "type": s.type,
                "required": s.required,
                "default": s.default,
                "choices": s.choices,
                "pattern": s.pattern,
                "hidden": s.hidden,
            }
            for s in project.config_slots.order_by("position", "id")
        ],
        "workflows": [
            {"name": w.name, "description": w.description, "steps": w.steps}
            for w in project.workflows.order_by("position", "id")
        ],
    }
