"""MkDocs hooks: render the repository's notebooks/ without copying or linking them.

MkDocs only reads ``docs_dir``; the notebooks live in ``notebooks/`` at the repository root
(committed with outputs stripped). These hooks add every ``notebooks/*.ipynb`` to the build
as ``notebooks/<name>.ipynb`` (mkdocs-jupyter renders them), list them in the "Notebooks"
section of the navigation, after that section's own pages, give each notebook page a
download button, and replace the marker ``<!-- notebooks-list -->`` in a page with a list of
links to them. Only notebooks that exist are used, so the build works with none, and a new
notebook appears without a change here. ``mkdocs serve`` also watches ``notebooks/``.

A notebook's executed copy in ``build/notebooks/`` (``make notebooks``) is rendered instead,
with its outputs, when its cells are exactly those of the committed notebook; a copy made
before the notebook changed is ignored, so the site never shows stale results.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
EXECUTED = ROOT / "build" / "notebooks"  # `make notebooks` writes executed copies here
SECTION = "Notebooks"
MARKER = "<!-- notebooks-list -->"


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb")) if NOTEBOOKS.is_dir() else []


def _title(path: Path) -> str:
    """The notebook's first Markdown heading, else its file name."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        cells = []
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else source
        for line in text.splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip().replace("`", "")  # nav titles are plain text
    return path.stem.replace("_", " ")


def _is_notebook_entry(entry: Any) -> bool:
    values = entry.values() if isinstance(entry, dict) else [entry]
    return any(isinstance(v, str) and v.endswith(".ipynb") for v in values)


def on_config(config: Any, **kwargs: Any) -> Any:
    """Fill the "Notebooks" nav section (dropped when it ends up empty)."""
    nav = config.nav or []
    for i, entry in enumerate(nav):
        if isinstance(entry, dict) and SECTION in entry:
            # keep the section's own pages (drop notebooks added by an earlier call: serve)
            pages = [e for e in entry[SECTION] or [] if not _is_notebook_entry(e)]
            pages += [{_title(nb): f"notebooks/{nb.name}"} for nb in _notebooks()]
            if pages:
                nav[i] = {SECTION: pages}
            else:
                del nav[i]
            break
    return config


def _code(path: Path) -> list[str] | None:
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return None
    out = []
    for cell in cells:
        source = cell.get("source", "")
        out.append("".join(source) if isinstance(source, list) else source)
    return out


STATIC = ROOT / "build" / "docs-notebooks"  # executed copies prepared for a static page
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _static_copy(executed: Path) -> Path:
    """The executed notebook with live widgets replaced by their PNG fallback (a static page
    has no kernel; hpo_notebook's dashboard output always carries a PNG of its final state)."""
    nb = json.loads(executed.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW in data and "image/png" in data:
                del data[WIDGET_VIEW]
    nb.get("metadata", {}).pop("widgets", None)
    target = STATIC / "notebooks" / executed.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(nb), encoding="utf-8")
    return STATIC


def _source_dir(path: Path) -> Path:
    """Where to read notebook ``path`` from: its executed copy from ``make notebooks`` (with
    real outputs) when that copy has exactly the committed cells, else the committed one."""
    executed = EXECUTED / path.name
    if executed.is_file() and _code(executed) == _code(path):
        return _static_copy(executed)
    return ROOT


@event_priority(100)  # before mkdocs-jupyter wraps .ipynb files into notebook pages
def on_files(files: Files, config: Any, **kwargs: Any) -> Files:
    for path in _notebooks():
        files.append(
            File(
                f"notebooks/{path.name}",
                src_dir=str(_source_dir(path)),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    return files


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if MARKER not in markdown:
        return markdown
    here = posixpath.dirname(page.file.src_uri)
    items = []
    for p in _notebooks():
        rel = posixpath.relpath(f"notebooks/{p.name}", here or ".")
        items.append(f"- [{_title(p)}]({rel})")
    text = "\n".join(items) if items else "*No notebook is committed yet.*"
    return markdown.replace(MARKER, text)


# Material's "download" icon, inlined: a button like its edit button, at the top right.
_DOWNLOAD_ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">'
    '<path d="M5 20h14v-2H5m14-9h-4V3H9v6H5l7 7z"/></svg>'
)


def on_page_content(html: str, page: Any, **kwargs: Any) -> str:
    """Notebook pages get a button that downloads the .ipynb (mkdocs-jupyter's
    ``include_source`` copies it next to the page, but Material shows no link to it)."""
    uri = page.file.src_uri
    if not (uri.startswith("notebooks/") and uri.endswith(".ipynb")):
        return html
    name = posixpath.basename(uri)  # copied into the page's own folder: a relative link
    button = (
        f'<a href="{name}" download title="Download the notebook ({name})" '
        f'class="md-content__button md-icon">{_DOWNLOAD_ICON}</a>'
    )
    return button + html


def on_serve(server: Any, config: Any, builder: Any, **kwargs: Any) -> Any:
    if NOTEBOOKS.is_dir():
        server.watch(str(NOTEBOOKS))
    return server
