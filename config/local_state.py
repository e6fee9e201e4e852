"""Local state folder helpers: the data dir and a persistent development secret key."""
import os
import secrets
from pathlib import Path

DEV_KEY_PREFIX = "local-dev-"


def data_dir(path: str) -> Path:
    """Create (if needed) and return the folder that holds every piece of local state."""
    folder = Path(path).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def local_secret_key(folder: Path) -> str:
    """A random key kept in a 0600 file so sessions and run tokens survive restarts."""
    key_file = folder / "django_secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(DEV_KEY_PREFIX + secrets.token_urlsafe(48))
    return key_file.read_text().strip()
