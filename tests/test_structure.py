"""The shape of the code, read from its syntax trees:

- apps are layered (config/settings/base.py: LOCAL_APPS, bottom to top): a domain module imports
  only from its own app and the apps below it, so there is no cycle between apps. An app's
  interface modules (INTERFACE_MODULES: its API views, serializers, URLs, admin, pages) are the
  design's "pages/API" layer, above every app's domain: they may call any app's domain functions,
  and no domain module imports them;
- no cycle between modules, and no import inside a function (the usual way to dodge a cycle);
- one writer of the lifecycle columns of an authentication: lifecycle/state.py;
- secret plaintext is revealed only by the credentials code listed in REVEALERS;
- settings are declared in config/settings, never read with a default scattered in modules.
"""

import ast
from pathlib import Path

from django.conf import settings

from auths.models import Authentication

ROOT = Path(__file__).resolve().parents[1]
LAYERS = [*settings.LOCAL_APPS, "config"]
INTERFACE_MODULES = {
    "api.py",
    "serializers.py",
    "urls.py",
    "admin.py",
    "admin_forms.py",
    "views.py",
    "forms.py",
    # The Connections and Services pages (pages/), apart from the other pages' views.py/forms.py.
    "connection_views.py",
    "connection_forms.py",
    # The end-user pages (config wizard, auth dialog), beside the member pages' modules.
    "wizard_views.py",
    "wizard_forms.py",
    "wizard_urls.py",
}

# Modules that reveal secret plaintext, and why. Everything else sees Sealed values only.
REVEALERS = {
    "auths/parameters.py": "secret parameter values, substituted into URLs and credentials",
    "auths/tokens.py": "the client secret, sent to the token endpoint",
    "connections/authorization_code.py": "the PKCE verifier, sent with the code",
    "connections/oauth1.py": "the request token secret, to sign the access-token request",
    "connections/http_client.py": "the credential it injects (and scrubs from answers)",
    "connections/authentications.py": "the token revoked at the provider on deletion",
    "lifecycle/refresh.py": "the refresh token, redeemed at the token endpoint",
    "events/webhooks.py": "the webhook's signing secret, to sign a delivery",
    "infrastructure/encryption.py": "defines reveal()",
}


def app_of(path: Path) -> str:
    return path.relative_to(ROOT).parts[0]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files():
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def parsed():
    for path in source_files():
        yield path, ast.parse(path.read_text(), filename=str(path))


def imports(tree: ast.AST, module: str):
    """(imported module, node, inside a function?) for every import of a platform module."""
    package = module.rsplit(".", 1)[0] if "." in module else module

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child, in_function
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - child.level + 1])
                    base = f"{base}.{child.module}" if child.module else base
                for alias in child.names:
                    yield f"{base}.{alias.name}", child, in_function
            yield from visit(child, inner)

    for name, node, in_function in visit(tree, False):
        if name.split(".")[0] in LAYERS:
            yield name, node, in_function


def known_modules() -> set[str]:
    return {module_name(path) for path in source_files()}


def resolve(name: str, modules: set[str]) -> str | None:
    """`auths.models.Authentication` -> `auths.models`; `lifecycle.state` -> itself."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def is_interface(module: str) -> bool:
    return f"{module.rsplit('.', 1)[-1]}.py" in INTERFACE_MODULES


def test_apps_import_only_from_themselves_and_the_apps_below():
    modules = known_modules()
    offenders = []
    for path, tree in parsed():
        app, source = app_of(path), module_name(path)
        for name, node, _ in imports(tree, source):
            target = resolve(name, modules) or name
            target_app = target.split(".")[0]
            below_or_same = LAYERS.index(target_app) <= LAYERS.index(app)
            if app == "config" or (is_interface(source) and not is_interface(target)):
                allowed = True  # the top layers call any domain function
            else:
                allowed = below_or_same and (is_interface(source) or not is_interface(target))
            if not allowed:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert offenders == [], f"layers, bottom to top: {LAYERS}, then the interface modules"


def test_no_import_inside_a_function():
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno} imports {name}"
        for path, tree in parsed()
        for name, node, in_function in imports(tree, module_name(path))
        # Django asks apps to import their own code from AppConfig.ready().
        if in_function and path.name != "apps.py"
    ]
    assert offenders == []


def test_no_cycle_between_modules():
    modules = known_modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for path, tree in parsed():
        source = module_name(path)
        for name, _, _ in imports(tree, source):
            target = resolve(name, modules)
            if target and target != source and not source.startswith(f"{target}."):
                graph[source].add(target)
    cycles = strongly_connected(graph)
    assert [sorted(c) for c in cycles if len(c) > 1] == []


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    found.append(component)
    return found


def test_the_cycle_check_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert sorted(len(c) for c in strongly_connected(graph)) == [1, 3]


# --- one writer of the lifecycle columns ---------------------------------------------------------

STATE_MODULE = "lifecycle/state.py"
WRITE_CALLS = {"update", "create", "get_or_create", "update_or_create", "bulk_update"}


def lifecycle_writes(tree: ast.AST) -> list[tuple[int, str]]:
    """Assignments to `<something>.<lifecycle column>`, and lifecycle columns passed to a write of
    Authentication rows (`Authentication.objects...update(status=...)`, `Authentication(...)`)."""
    columns = set(Authentication.LIFECYCLE_FIELDS)
    # `status` is also a column of deliveries: count it as the auth's only on Authentication writes.
    unique = columns - {"status"}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr in unique:
                    found.append((node.lineno, target.attr))
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr == "status"
                    and "auth" in ast.unparse(target.value).lower()
                ):
                    found.append((node.lineno, "status"))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            receiver = ast.unparse(func)
            on_auth = "Authentication" in receiver
            if name in WRITE_CALLS or (name == "Authentication" and on_auth):
                for keyword in node.keywords:
                    if keyword.arg in unique or (keyword.arg == "status" and on_auth):
                        found.append((node.lineno, keyword.arg))
    return found


def test_lifecycle_columns_are_written_by_lifecycle_state_only():
    offenders = [
        f"{path.relative_to(ROOT)}:{line} writes {column}"
        for path, tree in parsed()
        if str(path.relative_to(ROOT)) != STATE_MODULE
        for line, column in lifecycle_writes(tree)
    ]
    assert offenders == []


def test_the_writer_check_sees_a_write():
    tree = ast.parse(
        "auth.refresh_due_at = None\n"
        "Authentication.objects.filter(pk=1).update(status='error')\n"
        "WebhookDelivery.objects.filter(pk=1).update(status='failed')\n"
        "authentication.status = 'active'\n"
    )
    assert [column for _, column in lifecycle_writes(tree)] == [
        "refresh_due_at",
        "status",
        "status",
    ]


# --- secrets and settings ------------------------------------------------------------------------


def test_only_the_credentials_code_reveals_secrets():
    revealing = set()
    for path, tree in parsed():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("reveal", "reveal_json"):
                revealing.add(str(path.relative_to(ROOT)))
    assert revealing == set(REVEALERS)


def test_settings_are_declared_not_defaulted_where_they_are_read():
    offenders = []
    for path, tree in parsed():
        if "settings" in path.parts:
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", "") == "getattr"
                and node.args
                and ast.unparse(node.args[0]) == "settings"
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], "declare the setting in config/settings/base.py and read settings.X"
