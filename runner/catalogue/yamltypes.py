"""The vocabulary of safe YAML reading, apart from the parser so that using a cached, already checked
catalogue never imports PyYAML (a noticeable part of a short command's start-up)."""

from __future__ import annotations

# Nodes aliases may add beyond those written in the file: generous for `<<: *defaults`, far below a bomb.
MAX_ALIAS_EXPANSION = 100_000
# Catalogue data is a few levels deep; far deeper data is an attack on every recursive consumer.
MAX_DEPTH = 64

PathKey = str | int
DataPath = tuple[PathKey, ...]
Mark = tuple[int, int]


class YamlError(Exception):
    """The file cannot be read as safe YAML. ``line``/``column`` are 1-based, 0 when unknown."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
