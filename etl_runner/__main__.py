"""`python -m etl_runner`: see cli.py or `--help`.

With RUNNER_WARM_SOCKET set, the run is handed to the warm runner server first (warm_client.py),
before anything heavy is imported; without a server there, it runs in this process.
"""

import os
import sys

if os.environ.get("RUNNER_WARM_SOCKET") and sys.argv[1:2] != ["serve"]:
    from etl_runner.warm_client import run_warm

    warm_code = run_warm(os.environ["RUNNER_WARM_SOCKET"], sys.argv[1:])
    if warm_code is not None:
        sys.exit(warm_code)

from etl_runner.cli import main  # noqa: E402 - only when no warm server took the run

sys.exit(main())
