"""Source text to syntax tree: the grammar, the parser and the tree's nodes."""

from stagelang.syntax.parser import parse

__all__ = ["parse"]
