"""The navigation of signed-in members, as a list that pages add themselves to.

A page that belongs in the main navigation registers its URL name once, from an AppConfig.ready():

    nav_register(label="Connections", url_name="connections:list", order=10)

The context processor below gives every template `navigation`: the registered links in `order`,
with `current` set on the one whose address is the longest prefix of the page's. A registered name
that does not resolve is left out (tests/pages/test_layout.py checks that every one resolves).
"""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    order: int = 100


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool


_ITEMS: dict[str, NavItem] = {}


def nav_register(*, label: str, url_name: str, order: int = 100) -> None:
    """Add a link to the signed-in navigation; registering a URL name again replaces its entry."""
    _ITEMS[url_name] = NavItem(label=label, url_name=url_name, order=order)


def nav_items() -> list[NavItem]:
    return sorted(_ITEMS.values(), key=lambda item: (item.order, item.label))


def nav_links(path: str) -> list[NavLink]:
    resolved = []
    for item in nav_items():
        try:
            resolved.append((item, reverse(item.url_name)))
        except NoReverseMatch:
            continue
    matching = [url for _, url in resolved if path.startswith(url)]
    current = max(matching, key=len, default=None)
    return [NavLink(label=item.label, url=url, current=url == current) for item, url in resolved]
