"""The local scheduler: every tick, reap stale runs and deliver due slots to the webhook (like Cloud Scheduler)."""
import signal
import threading

from django.core.management.base import BaseCommand

from ml_platform.etl.scheduling import scheduler_tick


class Command(BaseCommand):
    help = "Run the local scheduler loop (--once for a single tick). Stops cleanly on SIGTERM / Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run one tick and exit")
        parser.add_argument("--interval", type=float, default=20.0, help="seconds between ticks (default 20)")

    def handle(self, *args, once: bool = False, interval: float = 20.0, **options):
        self.stop = threading.Event()
        if once:
            self.tick()
            return
        previous = self._install_signal_handlers()
        self.stdout.write(f"Scheduler started (every {interval:g}s); Ctrl-C to stop.")
        try:
            while not self.stop.is_set():
                self.tick()
                self.stop.wait(max(interval, 0.1))
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self.stdout.write("Scheduler stopped.")

    def tick(self) -> dict:
        """One scheduler step; failures are reported and the loop goes on."""
        try:
            result = scheduler_tick()
        except Exception as exc:  # noqa: BLE001 - a failed tick must not end the loop; the next one retries
            self.stderr.write(f"Scheduler tick failed: {exc.__class__.__name__}: {exc}")
            return {}
        for delivery in result["deliveries"]:
            self.stdout.write(f"job {delivery['job_id']} slot {delivery['slot']}: "
                              f"HTTP {delivery.get('http_status')} {delivery.get('status') or delivery.get('error')}")
        if result["reaped"]:
            self.stdout.write(f"reaped {result['reaped']} stale run(s)")
        return result

    def _install_signal_handlers(self) -> dict:
        def request_stop(signum, frame):
            self.stop.set()

        previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.signal(signum, request_stop)
        return previous
