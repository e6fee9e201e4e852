"""`python -m etl_runner`: see cli.py or `--help`."""

import sys

from etl_runner.cli import main

sys.exit(main())
