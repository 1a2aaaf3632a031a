"""Read a YAML document into plain dicts and lists that remember the line of every key and item.

`config.py` reports each problem as `FILE:LINE: KEY: message`, so it needs lines; ruamel.yaml's
round-trip loader gives them but is pure Python (0.6 s for a 1,000-feed `feeds.yaml`, paid by
every poll). PyYAML's libyaml parser composes the node tree, which carries the marks, in C
(15 ms). Scalars are resolved the YAML 1.2 way, as ruamel.yaml does: only `true` and `false`
are booleans (`yes`, `on` stay text) and `07:00` is text, not a number of minutes. Duplicate
keys are errors. `feeds_admin.py` still edits the file with ruamel.yaml, to keep comments.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """libyaml's parser with YAML 1.2 core-schema scalars."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


class YamlError(ValueError):
    """A document that is not valid YAML; `line` is 1-based, 0 when unknown."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


class Map(dict[Any, Any]):
    """A mapping with the 1-based line of each key and of each value."""

    key_lines: dict[Any, int]
    value_lines: dict[Any, int]


class Seq(list[Any]):
    """A sequence with the 1-based line of each item."""

    lines: list[int]


def load(text: str) -> Any:
    """The document in `text` (None when empty). Raises YamlError."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _build(loader, node, {})
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise YamlError(mark.line + 1 if mark else 0, str(e.problem or e)) from e
    except yaml.YAMLError as e:
        raise YamlError(0, str(e).splitlines()[0]) from e
    finally:
        loader.dispose()


def _build(loader: yaml.SafeLoader, node: yaml.Node, built: dict[int, Any]) -> Any:
    """The value of `node`; an alias (*name) gets the very object its anchor built, so a
    document of nested aliases ("billion laughs") costs no more than its text."""
    if id(node) in built:
        return built[id(node)]
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # merge keys (<<)
        out = built[id(node)] = Map()
        out.key_lines, out.value_lines = {}, {}
        for key_node, value_node in node.value:
            key = _build(loader, key_node, built)
            line = key_node.start_mark.line + 1
            try:
                duplicate = key in out
            except TypeError:  # a mapping or a list as a key
                raise YamlError(line, "a mapping or a list cannot be a key") from None
            if duplicate:
                raise YamlError(line, f"duplicate key {key!r} (first on line {out.key_lines[key]})")
            out[key] = _build(loader, value_node, built)
            out.key_lines[key] = line
            out.value_lines[key] = value_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = built[id(node)] = Seq()
        seq.extend(_build(loader, item, built) for item in node.value)
        seq.lines = [item.start_mark.line + 1 for item in node.value]
        return seq
    value = built[id(node)] = loader.construct_object(node, deep=True)
    return value
