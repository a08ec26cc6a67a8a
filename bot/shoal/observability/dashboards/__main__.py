"""Write every dashboard's JSON into a folder: ``python -m shoal.observability.dashboards DIR``.

Owns the command line only; ``scripts/render-dashboards`` runs it for the chart's
``dashboards/`` folder. JSON files of dashboards that no longer exist are removed, so the
folder always holds exactly the generated set.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from shoal.observability.dashboards import render_files

__all__ = ["main"]

_logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    """Render every dashboard into the folder named on the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m shoal.observability.dashboards",
        description="Write the Grafana dashboards as <name>.json files into a folder.",
    )
    parser.add_argument("out_dir", type=Path, help="the folder to write (created if missing)")
    out_dir: Path = parser.parse_args(argv).out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    files = render_files()
    for stale in sorted(out_dir.glob("*.json")):
        if stale.name not in files:
            stale.unlink()
    for name, content in files.items():
        (out_dir / name).write_bytes(content)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _logger.info("wrote %d dashboards into %s", len(files), out_dir)


if __name__ == "__main__":
    main()
