"""`manage.py reap_runs`: fail active runs whose runner stopped reporting (safe to run twice at once)."""
from django.core.management.base import BaseCommand

from ml_platform.etl.services import run_reap_stale


class Command(BaseCommand):
    help = "Mark runs whose heartbeats stopped as failed ('runner lost') and release their job's lock."

    def handle(self, *args, **options):
        reaped = run_reap_stale()
        self.stdout.write(f"Reaped {reaped} stale run(s).")
