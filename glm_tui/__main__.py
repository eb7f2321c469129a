"""Allow ``python -m glm_tui``."""

from glm_tui.cli import main

raise SystemExit(main())
