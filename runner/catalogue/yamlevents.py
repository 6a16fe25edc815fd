"""Plain data straight from libyaml's events, with the safety rules of :mod:`runner.catalogue.yamlsafe`.

YAML 1.2 core scalars only; explicit tags other than the core ones are refused; duplicate keys,
non-scalar keys, aliases expanding past a budget, recursive aliases and data nested too deeply are
refused with the line and column libyaml reports. Building from events skips PyYAML's node graph
and its Python resolver, which is where most of its time goes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from yaml import events as ev

from runner.catalogue.yamltypes import MAX_ALIAS_EXPANSION, MAX_DEPTH, DataPath, Mark, YamlError

_CORE = "tag:yaml.org,2002:"
_MERGE = _CORE + "merge"
_ONLY_PLAIN = "(only plain YAML data: mappings, lists, strings, numbers, booleans)"
_NULLS = frozenset({"~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)




def _at(event: ev.Event) -> Mark:
    return _line_col(event.start_mark)


def _line_col(mark: Any) -> Mark:
    return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)


def _int(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if digits.startswith("0o"):
        return sign * int(digits[2:], 8)
    if digits.startswith("0x"):
        return sign * int(digits[2:], 16)
    return sign * int(digits, 10)


def _float(text: str) -> float:
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return float("-inf") if lowered.startswith("-") else float("inf")
    if lowered == ".nan":
        return float("nan")
    return float(text)


def _plain(text: str) -> Any:
    """YAML 1.2 core schema resolution of a plain (unquoted, untagged) scalar."""
    if not text:
        return None
    first = text[0]
    if first in "~nN" and text in _NULLS:
        return None
    if first in "tTfF":
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return text
    if first in "-+.0123456789":
        if _INT.fullmatch(text):
            return _int(text)
        if _FLOAT.fullmatch(text):
            return _float(text)
    return text


def _tagged(tag: str, text: str, where: Mark, extra_tags: frozenset[str]) -> Any:
    """A scalar with an explicit tag: only the core scalar tags are allowed."""
    if tag in extra_tags:
        return f"{tag} value"
    try:
        if tag == _CORE + "str":
            return text
        if tag == _CORE + "int":
            return _int(text)
        if tag == _CORE + "float":
            return _float(text)
        if tag == _CORE + "bool" and text in _TRUE | _FALSE:
            return text in _TRUE
        if tag == _CORE + "null" and (text in _NULLS or not text):
            return None
    except ValueError:
        raise YamlError(f"{text!r} is not a valid {_short_tag(tag)}", *where) from None
    if tag in (_CORE + "bool", _CORE + "null"):
        raise YamlError(f"{text!r} is not a valid {_short_tag(tag)}", *where)
    raise YamlError(f"tag {_short_tag(tag)} is not allowed {_ONLY_PLAIN}", *where)


def _short_tag(tag: str) -> str:
    return tag.replace(_CORE, "!!")


@dataclass(slots=True)
class _Frame:
    """A mapping or sequence being built."""

    value: Any
    is_map: bool
    start: Any  # libyaml Mark of the collection's first character
    anchor: str | None
    path: DataPath | None  # kept for the root and its direct children only
    size: int = 1
    key: Any = None
    has_key: bool = False
    key_mark: Any = None  # the key's libyaml Mark (converted only when a message needs it)
    key_is_merge: bool = False
    key_lines: dict[Any, Any] = field(default_factory=dict)  # key -> its Mark
    merges: list[tuple[Any, Mark]] = field(default_factory=list)


class Builder:
    """Plain data from libyaml events, with duplicate-key, tag and alias-expansion checks."""

    def __init__(self, extra_tags: frozenset[str]) -> None:
        self.extra_tags = extra_tags
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.open_anchors: set[str] = set()
        self.budget = MAX_ALIAS_EXPANSION
        self.stack: list[_Frame] = []
        self.marks: dict[DataPath, Mark] = {}
        self.key_marks: dict[DataPath, Mark] = {}
        self.result: Any = None
        self.string_keys = True

    def run(self, parser: Any) -> None:
        get = parser.get_event
        stack = self.stack
        documents = 0
        while True:
            event = get()
            kind = type(event)
            if kind is ev.ScalarEvent:
                # Fast path, most events: a plain scalar below the top two levels of a mapping.
                top = stack[-1] if stack else None
                if (
                    top is not None
                    and top.is_map
                    and top.path is None
                    and event.tag is None
                    and event.implicit[0]
                    and not event.anchor
                    and not top.key_is_merge
                ):
                    text = event.value
                    top.size += 1
                    if top.has_key:
                        top.has_key = False
                        key = top.key
                        if key in top.key_lines:
                            self.duplicate(top)
                        top.key_lines[key] = top.key_mark
                        top.value[key] = _plain(text)
                    elif text != "<<":
                        value = _plain(text)
                        if type(value) is not str:
                            self.string_keys = False
                        top.key, top.has_key, top.key_mark = value, True, event.start_mark
                    else:
                        self.scalar(event)
                        top.size -= 1
                else:
                    self.scalar(event)
            elif kind is ev.MappingStartEvent or kind is ev.SequenceStartEvent:
                self.start(event, kind is ev.MappingStartEvent)
            elif kind is ev.MappingEndEvent or kind is ev.SequenceEndEvent:
                self.end()
            elif kind is ev.AliasEvent:
                self.alias(event)
            elif kind is ev.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise YamlError("more than one YAML document (---) in the file; use one", *_at(event))
            elif kind is ev.StreamEndEvent:
                return

    def duplicate(self, top: _Frame) -> None:
        first = _line_col(top.key_lines[top.key])[0]
        raise YamlError(f"duplicate key '{top.key}' (first defined at line {first})", *_line_col(top.key_mark))

    def scalar(self, event: ev.ScalarEvent) -> None:
        tag = event.tag
        text = event.value
        where = _at(event)
        if tag is None and event.implicit[0]:
            value = _plain(text)
        elif tag is None or tag == "!":
            value = text
        else:
            value = _tagged(tag, text, where, self.extra_tags)
        if event.anchor:
            self.anchors[event.anchor] = (value, 1)
        merge = tag is None and event.implicit[0] and text == "<<"
        self.add(value, 1, event.start_mark, merge)

    def start(self, event: ev.CollectionStartEvent, is_map: bool) -> None:
        tag = event.tag
        where = _at(event)
        if tag is not None and tag != "!" and tag != _CORE + ("map" if is_map else "seq"):
            raise YamlError(f"tag {_short_tag(tag)} is not allowed {_ONLY_PLAIN}", *where)
        if len(self.stack) >= MAX_DEPTH:
            raise YamlError(f"data nested deeper than {MAX_DEPTH} levels", *where)
        path = self.child_path()
        if event.anchor:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Frame({} if is_map else [], is_map, event.start_mark, event.anchor, path))

    def child_path(self) -> DataPath | None:
        if not self.stack:
            return ()
        parent = self.stack[-1]
        # Marks are kept for the top two levels, recorded by their parents: deeper frames need no path.
        if parent.path is None or len(parent.path) >= 1:
            return None
        return (*parent.path, parent.key if parent.is_map else len(parent.value))

    def end(self) -> None:
        frame = self.stack.pop()
        value = frame.value
        if frame.merges:
            value = _merged(frame.merges, value)
        if frame.anchor:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = (value, frame.size)
        self.add(value, frame.size, frame.start, False)

    def alias(self, event: ev.AliasEvent) -> None:
        name = event.anchor
        where = _at(event)
        if name not in self.anchors:
            if name in self.open_anchors:
                raise YamlError("an alias refers to a node that contains it (recursive data)", *where)
            raise YamlError(f"alias *{name} refers to no anchor &{name} above it", *where)
        value, size = self.anchors[name]
        self.budget -= size
        if self.budget < 0:
            raise YamlError(
                f"aliases expand to more than {MAX_ALIAS_EXPANSION:,} nodes (an alias bomb?); "
                "write the data out instead",
                *where,
            )
        self.add(value, size, event.start_mark, False)

    def add(self, value: Any, size: int, mark: Any, merge: bool) -> None:
        """Put a finished value into the collection being built (``mark``: where it starts)."""
        if not self.stack:
            self.result = value
            return
        top = self.stack[-1]
        top.size += size
        if not top.is_map:
            if top.path is not None and len(top.path) < 2:
                self.marks[(*top.path, len(top.value))] = _line_col(mark)
            top.value.append(value)
        elif not top.has_key:
            if isinstance(value, (dict, list)):
                raise YamlError("a mapping key must be a plain value, not a mapping or a list", *_line_col(mark))
            top.key, top.has_key, top.key_mark, top.key_is_merge = value, True, mark, merge
        else:
            top.has_key = False
            self.put(top, value, mark)

    def put(self, top: _Frame, value: Any, mark: Any) -> None:
        if top.key_is_merge:
            top.key_is_merge = False
            top.merges.append((value, _line_col(mark)))
            return
        key = top.key
        if key in top.key_lines:
            self.duplicate(top)
        top.key_lines[key] = top.key_mark
        if type(key) is not str:
            self.string_keys = False
        top.value[key] = value
        if top.path is not None and len(top.path) < 2:
            self.marks[(*top.path, key)] = _line_col(mark)
            self.key_marks[(*top.path, key)] = _line_col(top.key_mark)


def _merged(merges: list[tuple[Any, Mark]], explicit: dict[Any, Any]) -> dict[Any, Any]:
    """Apply ``<<`` merge keys: explicit keys win; in a list, earlier mappings win over later ones."""
    out: dict[Any, Any] = {}
    for value, where in merges:
        sources = value if isinstance(value, list) else [value]
        if not all(isinstance(s, dict) for s in sources):
            raise YamlError("a merge key (<<) takes a mapping or a list of mappings", *where)
        for source in reversed(sources):
            out.update(source)
    out.update(explicit)
    return out
