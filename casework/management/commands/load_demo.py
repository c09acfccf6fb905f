from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from casework.demo import DEMO_USERS, load_demo


class Command(BaseCommand):
    help = "Load the seed article's cases, people and statements (published) and demo users."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production", action="store_true",
            help="Load even with production settings (creates users with known passwords).",
        )

    def handle(self, *args, allow_production: bool = False, **options):
        if not (settings.DEBUG or settings.DEVELOPMENT or allow_production):
            raise CommandError(
                "load_demo creates accounts with published passwords; it runs only with "
                "DEBUG=1 or CASEWORK_DEVELOPMENT=1 (or --allow-production)."
            )
        counts = load_demo()
        self.stdout.write(self.style.SUCCESS(
            "Demo data ready: " + ", ".join(f"{n} {name}" for name, n in counts.items())
        ))
        self.stdout.write("Demo sign-in (local use only):")
        for username, (role, password) in DEMO_USERS.items():
            self.stdout.write(f"  {role:<14} {username} / {password}")
