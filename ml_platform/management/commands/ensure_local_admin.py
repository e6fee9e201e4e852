"""Create a local admin account on first start and say how to log in."""
import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the local 'admin' superuser if no superuser exists; print how to log in."

    def handle(self, *args, **options):
        password_file = settings.PLATFORM_DATA_DIR / "admin_password.txt"
        user_model = get_user_model()
        if user_model.objects.filter(is_superuser=True).exists():
            hint = f" (initial password in {password_file})" if password_file.exists() else ""
            self.stdout.write(f"Log in at {settings.PLATFORM_BASE_URL}/login/ with your admin account{hint}.")
            return
        password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user_model.objects.create_superuser(username="admin", email="admin@localhost", password=password)
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        self.stdout.write(self.style.SUCCESS(
            f"Created local admin account. Log in at {settings.PLATFORM_BASE_URL}/login/ "
            f"as 'admin' with password: {password}  (also saved in {password_file})"
        ))
