"""A Griffe extension for the API reference: the package's reST habits, read as Markdown.

The docstrings are Google style with a few reST habits that read well in ``help()`` but are
not Markdown. At load time (the source files are not changed) this extension:

- rewrites each Sphinx role (``:class:`Trial```, ``:meth:`tell```) into an optional autorefs
  link to the object it names, resolved the way Python would from the docstring's scope (the
  class, then the module, following imports). A name that does not resolve (a builtin, a
  private helper) becomes plain code. Optional links never produce a warning, so a role that
  points at an object the reference does not render degrades to code;
- reads an ``Example:`` section as Griffe's ``Examples:`` (so ``>>>`` lines render as code,
  not as nested quotes);
- turns a paragraph's closing ``::`` (reST's "literal block follows") into ``:``.

Loaded by mkdocstrings (``extensions:`` in mkdocs.yml).
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(class|meth|func|attr|data|mod|exc|obj):`(~?)([^`<>\s]+)`")
_CALLABLE = {"meth", "func"}
_EXAMPLE = re.compile(r"^(\s*)Example:[ \t]*$", re.MULTILINE)
_LITERAL = re.compile(r"(?<=\S)::[ \t]*$(?=\n[ \t]*\n)", re.MULTILINE)


def _scopes(obj: Any) -> list[Any]:
    """The object itself when it is a class or module, then its enclosing classes/modules."""
    out = []
    o = obj
    while o is not None:
        if o.is_class or o.is_module:
            out.append(o)
        o = o.parent
    return out


def _resolve(obj: Any, target: str) -> str | None:
    root = obj.package.path
    if target == root or target.startswith(root + "."):
        return target
    head, *rest = target.split(".")
    for scope in _scopes(obj):
        member = scope.members.get(head)
        if member is None:
            continue
        path = member.target_path if member.is_alias else member.path
        if not (path == root or path.startswith(root + ".")):
            return None  # a third-party or builtin object: no page to link to
        return ".".join([path, *rest])
    return None


def _rewrite(obj: Any, text: str) -> str:
    def replace(m: re.Match[str]) -> str:
        role, short, target = m.group(1), m.group(2), m.group(3)
        title = target.rsplit(".", 1)[-1] if short else target
        if role in _CALLABLE:
            title += "()"
        code = f"<code>{html.escape(title)}</code>"
        path = _resolve(obj, target)
        if path is None:
            return code
        return f'<autoref identifier="{html.escape(path)}" optional>{code}</autoref>'

    return _ROLE.sub(replace, text)


class SphinxRoles(griffe.Extension):
    """Rewrite the reST habits above in every docstring of the loaded package."""

    def on_object(self, *, obj: Any, **kwargs: Any) -> None:
        if obj.is_alias or obj.docstring is None:
            return
        text = obj.docstring.value
        if ":`" in text:
            text = _rewrite(obj, text)
        text = _EXAMPLE.sub(r"\1Examples:", text)
        text = _LITERAL.sub(":", text)
        obj.docstring.value = text
