"""`zwcrawl report`: one self-contained HTML file of charts and figures about an archive."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from zwcrawl.report.data import read_report_data
from zwcrawl.report.page import render_page

__all__ = ["write_report"]


def write_report(archive: Path, output: Path) -> None:
    """Write the report of the archive to output, through a temporary file renamed into place."""
    html = render_page(read_report_data(archive))
    # Beside the target, so the rename is atomic: an interrupted report never leaves half a file there.
    fd, temporary = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as file:
            file.write(html)
        os.chmod(temporary, 0o644)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
