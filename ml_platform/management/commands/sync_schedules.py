"""Reconcile Cloud Scheduler with the ETL jobs: create missing, fix drifted, delete orphan etl-job-* jobs."""
from django.core.management.base import BaseCommand, CommandError

from ml_platform.etl.schedule_reconcile import schedule_reconcile
from ml_platform.utils.errors import ExternalServiceError


class Command(BaseCommand):
    help = "Make the scheduler backend match the jobs' schedules (--dry-run prints the plan only)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="print the plan without changing anything")

    def handle(self, *args, dry_run: bool = False, **options):
        try:
            plan = schedule_reconcile(dry_run=dry_run)
        except ExternalServiceError as exc:
            raise CommandError(exc.message) from exc
        prefix = "would " if dry_run else ""
        for line in plan.lines():
            self.stdout.write(f"{prefix}{line}" if not line.startswith("nothing") else line)
