"""`python -m ixidir` runs the `ixidir` command."""

from ixidir.cli import main

raise SystemExit(main())
