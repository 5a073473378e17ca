from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "pages"
    verbose_name = "Pages"

    def ready(self):
        from pages.navigation import nav_register

        # The signed-in navigation: later pages add themselves the same way (pages/navigation.py).
        nav_register(label="Home", url_name="account:home", order=0)
        nav_register(label="Connections", url_name="connections:list", order=10)
        nav_register(label="Services", url_name="services:list", order=20)
        nav_register(label="API keys", url_name="account:api-keys", order=90)
