"""Safe YAML reading with locations: plain data out, and a way back from a data path to line:column.

Only YAML 1.2 core types are produced (mappings, sequences, strings, integers, floats, booleans,
null): no Python tags, no timestamps (dates stay strings so the schema checks their format), no
YAML 1.1 surprises (``on``/``no`` stay strings, ``02:00`` is not the number 120). Duplicate keys,
alias bombs, oversized, binary and empty files are rejected with a located message.

libyaml (PyYAML's C parser) scans; data is built straight from its events, which is several times
faster than composing a node graph first. The node graph is composed only when a location deeper
than the top two levels is asked for, which happens only when a file has a problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from runner.catalogue.yamltypes import MAX_ALIAS_EXPANSION, MAX_DEPTH, DataPath, Mark, PathKey, YamlError

if TYPE_CHECKING:
    import yaml
    from yaml.nodes import Node

# PyYAML is imported only to parse, or to locate a problem: a catalogue read from the checked-file
# cache needs neither.

__all__ = [
    "MAX_ALIAS_EXPANSION",
    "MAX_BYTES",
    "MAX_DEPTH",
    "DataPath",
    "Mark",
    "PathKey",
    "YamlDoc",
    "YamlError",
    "decode",
    "load_bytes",
    "parse",
]

MAX_BYTES = 1024 * 1024
_MERGE = "tag:yaml.org,2002:merge"


@cache
def _composer_class() -> type:
    """A libyaml composer that recognises ``<<`` (other tags are irrelevant to locating)."""
    import re

    from yaml.cyaml import CParser  # type: ignore[attr-defined]
    from yaml.resolver import BaseResolver

    class _Resolver(BaseResolver):  # type: ignore[misc]
        pass

    _Resolver.add_implicit_resolver(_MERGE, re.compile(r"^<<$"), ["<"])

    class _Composer(CParser, _Resolver):  # type: ignore[misc]
        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            _Resolver.__init__(self)

    return _Composer


@dataclass
class YamlDoc:
    """A parsed file: its plain data, and the means to say where a value is written."""

    data: Any
    text: str = ""
    marks: dict[DataPath, Mark] = field(default_factory=dict)
    key_marks: dict[DataPath, Mark] = field(default_factory=dict)
    string_keys: bool = True  # every mapping key is a string (JSON can hold the data exactly)
    _node: Node | None = None

    @property
    def node(self) -> Node | None:
        """The composed node graph (built on first use)."""
        if self._node is None and self.text:
            composer = _composer_class()(self.text)
            try:
                self._node = composer.get_single_node()
            finally:
                composer.dispose()
        return self._node

    def locate(self, path: DataPath, *, key: bool = False) -> Mark:
        """The 1-based (line, column) of the value at ``path`` (of its key with ``key=True``).

        When the path leads somewhere not written in the file (a merged or missing key), the
        nearest written ancestor is returned.
        """
        if not path:
            return 1, 1
        if key and path in self.key_marks:
            return self.key_marks[path]
        if path in self.marks and (not key or type(path[-1]) is int):
            return self.marks[path]
        node = self.node
        if node is None:
            return 1, 1
        where = _node_mark(node)
        for step in path:
            found = _step(node, step)
            if found is None:
                return where
            key_node, node = found
            where = _node_mark(key_node if key and key_node is not None else node)
        return where if key else _node_mark(node)


def _node_mark(node: Node) -> Mark:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _step(node: Node, step: PathKey) -> tuple[Node | None, Node] | None:
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    if isinstance(node, SequenceNode) and isinstance(step, int):
        return (None, node.value[step]) if 0 <= step < len(node.value) else None
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == str(step):
                return key_node, value_node
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                for source in value_node.value if isinstance(value_node, SequenceNode) else [value_node]:
                    found = _step(source, step)
                    if found is not None:
                        return found
    return None


def decode(raw: bytes, *, max_bytes: int = MAX_BYTES) -> str:
    """Check size and encoding of a file's bytes; return its text."""
    if len(raw) > max_bytes:
        raise YamlError(f"file is {len(raw):,} bytes; the limit is {max_bytes:,} bytes (split it into several files)")
    nul = raw.find(b"\x00")
    if nul >= 0:
        line, col = _byte_position(raw, nul)
        raise YamlError("binary data (a NUL byte), not a YAML text file", line, col)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _byte_position(raw, exc.start)
        raise YamlError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded)", line, col) from None


def _byte_position(raw: bytes, offset: int) -> Mark:
    line = raw.count(b"\n", 0, offset) + 1
    return line, offset - (raw.rfind(b"\n", 0, offset) + 1) + 1


def parse(text: str, *, extra_tags: frozenset[str] = frozenset()) -> YamlDoc:
    """Parse one YAML document safely. ``extra_tags`` are tags read as opaque strings (e.g. ``!vault``)."""
    import yaml
    from yaml.cyaml import CParser  # type: ignore[attr-defined]

    from runner.catalogue.yamlevents import Builder

    builder = Builder(extra_tags)
    parser = CParser(text)
    try:
        builder.run(parser)
    except YamlError:
        raise
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise YamlError(f"control character #x{char:02x} is not allowed in YAML text", line, col) from None
    except yaml.MarkedYAMLError as exc:
        raise _from_marked(exc) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"not valid YAML: {exc}") from None
    finally:
        parser.dispose()
    return YamlDoc(
        data=builder.result,
        text=text,
        marks=builder.marks,
        key_marks=builder.key_marks,
        string_keys=builder.string_keys,
    )


def _from_marked(exc: yaml.MarkedYAMLError) -> YamlError:
    mark = exc.problem_mark or exc.context_mark
    text = exc.problem or "not valid YAML"
    if exc.context and exc.context not in text:
        text = f"{text} ({exc.context})"
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    return YamlError(f"not valid YAML: {text}", line, col)


def load_bytes(raw: bytes, *, extra_tags: frozenset[str] = frozenset()) -> YamlDoc:
    """Decode and parse a file's bytes; empty documents are an error."""
    text = decode(raw)
    doc = parse(text, extra_tags=extra_tags)
    if doc.data is None:
        raise YamlError("file is empty (no YAML data, only blanks or comments)", 1, 1)
    return doc
