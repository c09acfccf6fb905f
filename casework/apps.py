from django.apps import AppConfig


class CaseworkConfig(AppConfig):
    name = "casework"
    verbose_name = "Casework"

    def ready(self) -> None:
        from casework import (  # noqa: F401
            search,  # public search documents kept up to date
            signals,  # re-vetting on relation changes
        )
