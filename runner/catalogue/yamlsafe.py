"""Safe YAML reading with locations: plain data out, and a way back from a data path to line:column.

Only YAML 1.2 core types are produced (mappings, sequences, strings, integers, floats, booleans,
null): no Python tags, no timestamps (dates stay strings so the schema checks their format), no
YAML 1.1 surprises (``on``/``no`` stay strings, ``02:00`` is not the number 120). Duplicate keys,
alias bombs, oversized, binary and empty files are rejected with a located message.

libyaml (through PyYAML's C parser) does the scanning and composing; construction is ours.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.cyaml import CParser  # type: ignore[attr-defined]
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

MAX_BYTES = 1024 * 1024
# Nodes an alias may add beyond the ones written in the file: generous for `<<: *defaults`, far below a bomb.
MAX_ALIAS_EXPANSION = 100_000

PathKey = str | int
DataPath = tuple[PathKey, ...]

_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"


class YamlError(Exception):
    """The file cannot be read as safe YAML. ``line``/``column`` are 1-based, 0 when unknown."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class _Resolver(BaseResolver):
    """YAML 1.2 core schema: the only implicit types are null, bool, int and float."""


_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)
_Resolver.add_implicit_resolver(_MERGE, re.compile(r"^<<$"), ["<"])


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Constructor(SafeConstructor):
    """SafeConstructor limited to core types, rejecting duplicate keys and counting alias expansion."""

    yaml_constructors: ClassVar[dict[Any, Callable[..., Any]]] = {}
    yaml_multi_constructors: ClassVar[dict[Any, Callable[..., Any]]] = {}

    def __init__(self, extra_tags: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self._alias_budget = MAX_ALIAS_EXPANSION
        self._sizes: dict[int, int] = {}
        self._extra_tags = extra_tags

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:
            self._alias_budget -= _expanded_size(node, self._sizes)
            if self._alias_budget < 0:
                line, col = _mark(node)
                raise YamlError(
                    f"aliases expand to more than {MAX_ALIAS_EXPANSION} nodes (an alias bomb?); "
                    "write the data out instead",
                    line,
                    col,
                )
        elif node.tag in self._extra_tags:
            return f"{node.tag} value"
        return super().construct_object(node, deep)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[tuple[str, str], Node] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag != _MERGE:
                ident = (key_node.tag, key_node.value)
                first = seen.get(ident)
                if first is not None:
                    line, col = _mark(key_node)
                    raise YamlError(
                        f"duplicate key '{key_node.value}' (first defined at line {_mark(first)[0]})",
                        line,
                        col,
                    )
                seen[ident] = key_node
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]

    def construct_core_int(self, node: ScalarNode) -> int:
        text = str(self.construct_scalar(node))
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("+-")
        if digits.startswith("0o"):
            return sign * int(digits[2:], 8)
        if digits.startswith("0x"):
            return sign * int(digits[2:], 16)
        return sign * int(digits, 10)

    def construct_not_allowed(self, node: Node) -> Any:
        line, col = _mark(node)
        raise YamlError(
            f"tag {_short_tag(node.tag)} is not allowed "
            "(only plain YAML data: mappings, lists, strings, numbers, booleans)",
            line,
            col,
        )


# The whole registry: any other tag (!!python/..., !!timestamp, !!binary, !Custom) is refused.
_Constructor.yaml_constructors = {
    "tag:yaml.org,2002:null": SafeConstructor.construct_yaml_null,
    "tag:yaml.org,2002:bool": SafeConstructor.construct_yaml_bool,
    "tag:yaml.org,2002:int": _Constructor.construct_core_int,
    "tag:yaml.org,2002:float": SafeConstructor.construct_yaml_float,
    _STR: SafeConstructor.construct_yaml_str,
    "tag:yaml.org,2002:seq": SafeConstructor.construct_yaml_seq,
    "tag:yaml.org,2002:map": SafeConstructor.construct_yaml_map,
    None: _Constructor.construct_not_allowed,
}


def _short_tag(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


def _expanded_size(node: Node, memo: dict[int, int]) -> int:
    """Nodes under ``node`` counted as often as aliases repeat them (memoised, so linear in the file)."""
    stack: list[tuple[Node, bool]] = [(node, False)]
    open_nodes: set[int] = set()
    while stack:
        current, done = stack.pop()
        if id(current) in memo:
            continue
        children = _children(current)
        if done:
            memo[id(current)] = 1 + sum(memo.get(id(c), 0) for c in children)
            open_nodes.discard(id(current))
            continue
        if id(current) in open_nodes:
            line, col = _mark(current)
            raise YamlError("an alias refers to a node that contains it (recursive data)", line, col)
        open_nodes.add(id(current))
        stack.append((current, True))
        stack.extend((c, False) for c in children if id(c) not in memo)
    return memo[id(node)]


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


class _Loader(CParser, _Constructor, _Resolver):
    def __init__(self, text: str, extra_tags: frozenset[str]) -> None:
        CParser.__init__(self, text)
        _Constructor.__init__(self, extra_tags)
        _Resolver.__init__(self)


@dataclass(frozen=True)
class YamlDoc:
    """A parsed file: its plain data and its node tree for locating values."""

    data: Any
    node: Node | None

    def locate(self, path: DataPath, *, key: bool = False) -> tuple[int, int]:
        """Return the 1-based (line, column) of the value at ``path`` (its key with ``key=True``).

        When the path leads somewhere not written in the file (a merged or missing key), the
        nearest written ancestor is returned.
        """
        node = self.node
        if node is None:
            return 1, 1
        where = _mark(node)
        for step in path:
            found = _step(node, step)
            if found is None:
                return where
            key_node, node = found
            where = _mark(key_node if key and key_node is not None else node)
        if not key:
            where = _mark(node)
        return where


def _step(node: Node, step: PathKey) -> tuple[Node | None, Node] | None:
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


def _byte_position(raw: bytes, offset: int) -> tuple[int, int]:
    line = raw.count(b"\n", 0, offset) + 1
    return line, offset - (raw.rfind(b"\n", 0, offset) + 1) + 1


def parse(text: str, *, extra_tags: frozenset[str] = frozenset()) -> YamlDoc:
    """Parse one YAML document safely. ``extra_tags`` are tags read as opaque strings (e.g. ``!vault``)."""
    loader = _Loader(text, extra_tags)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except YamlError:
        raise
    except yaml.MarkedYAMLError as exc:
        raise _from_marked(exc) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise YamlError(f"control character #x{char:02x} is not allowed in YAML text", line, col) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"not valid YAML: {exc}") from None
    except RecursionError:
        raise YamlError("data nested too deeply") from None
    finally:
        loader.dispose()
    return YamlDoc(data=data, node=node)


def _from_marked(exc: yaml.MarkedYAMLError) -> YamlError:
    mark = exc.problem_mark or exc.context_mark
    text = exc.problem or "not valid YAML"
    if isinstance(exc, ConstructorError) and "recursive" in text:
        text = "an alias refers to a node that contains it (recursive data)"
    elif exc.context and exc.context not in text:
        text = f"{exc.context}: {text}"
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    return YamlError(f"not valid YAML: {text}", line, col)


def load_bytes(raw: bytes, *, extra_tags: frozenset[str] = frozenset()) -> YamlDoc:
    """Decode and parse a file's bytes; empty documents are an error."""
    text = decode(raw)
    doc = parse(text, extra_tags=extra_tags)
    if doc.data is None:
        raise YamlError("file is empty (no YAML data, only blanks or comments)", 1, 1)
    return doc
