"""Load a charter file: YAML text → typed :class:`~charter.model.Charter`, or every problem.

Rules:

- The text is parsed with PyYAML's safe loader, keeping each node's start mark, so every problem
  points at ``line:column`` (1-based) of the offending value, the offending key (unknown or
  duplicate keys), or the parent's key when a required field is missing.
- A YAML syntax error is one problem at the error's mark (path ``(yaml)``); nothing else can be
  judged then.
- A document is at most :data:`EXPANDED_LIMIT` values once its aliases are expanded (an alias
  counts everything under its anchor again, each time it is used): nested aliases grow
  exponentially ("billion laughs"), and every later step (merging ``<<`` keys, positions,
  shape and cross-reference checks) walks the expanded document. A larger one is refused as
  one ``(yaml)`` problem at the anchor whose aliases expand too far, before anything is built.
- Otherwise shape problems (pydantic) and cross-reference problems (:mod:`charter.validate`) are
  collected together and raised at once as :class:`CharterInvalid`, sorted by position.
  Messages are plain sentences (:mod:`charter.shape_messages`).
- Top-level keys starting with ``x-`` are ignored, so anchors can be defined once and merged
  (``<<: *standard``) where needed; a key merged in that way may be overridden without a
  duplicate-key problem.
- A version the bot kept (``kept=True``) is read as it was adopted: the rules a new charter
  alone must meet (:mod:`charter.validate`, lists that hold one entry or more) are not applied
  to it, so a version adopted before them still decides the proposals opened under it.
- A charter that loads carries the SHA-256 of its UTF-8 text, so a decision can record which
  exact charter decided it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.reader import ReaderError

from charter.model import Charter
from charter.schema import json_schema
from charter.shape_messages import ROOT_PATH, describe, format_path, shape_finding
from charter.validate import Finding, Loc, check

__all__ = [
    "CharterInvalid",
    "LoadedCharter",
    "Problem",
    "json_schema",
    "load_charter",
]

SYNTAX_PATH = "(yaml)"
# Top-level keys starting with this are ignored: a place for YAML anchors shared by tracks.
EXTENSION_PREFIX = "x-"
# Values a document may hold with its aliases expanded: the reference charter has about 350.
EXPANDED_LIMIT = 20_000

Spot = tuple[int, int]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a charter file, where it is and what to do about it."""

    source: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}: {self.path}: {self.message}"


class CharterInvalid(ValueError):
    """The charter cannot be used; ``problems`` lists everything found, in file order."""

    def __init__(self, problems: tuple[Problem, ...]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class LoadedCharter:
    charter: Charter
    sha256: str
    text: str
    source: str


def load_charter(text: str, source: str = "<charter>", *, kept: bool = False) -> LoadedCharter:
    """Parse and check ``text``; raise :class:`CharterInvalid` listing every problem. ``kept``:
    a version the bot adopted before, read as it was adopted (see the module rules)."""
    data, positions, problems = _parse(text, source)
    if not isinstance(data, dict):
        what = "empty" if data is None else f"{describe(data)}, not a mapping of sections"
        message = f"the charter is {what}; it starts with sections such as charter:, github:"
        line, column = positions.at(())
        raise CharterInvalid((Problem(source, line, column, ROOT_PATH, message),))
    data = {k: v for k, v in data.items() if not str(k).startswith(EXTENSION_PREFIX)}
    findings: list[Finding] = []
    charter: Charter | None = None
    try:
        charter = Charter.model_validate(data)
    except ValidationError as exc:
        findings.extend(shape_finding(error) for error in exc.errors(include_url=False))
    findings.extend(check(data, adopting=not kept))
    problems.extend(positions.problem(finding, source) for finding in findings)
    if problems:
        ordered = sorted(set(problems), key=lambda p: (p.line, p.column, p.path, p.message))
        raise CharterInvalid(tuple(ordered))
    assert charter is not None  # no problems means the shape check passed
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return LoadedCharter(charter=charter, sha256=digest, text=text, source=source)


# -- YAML with positions ----------------------------------------------------------------------


class _Positions:
    """Where each path's value (and, for mapping entries, its key) starts in the file."""

    def __init__(self) -> None:
        self.values: dict[Loc, Spot] = {(): (1, 1)}
        self.keys: dict[Loc, Spot] = {}

    def at(self, loc: Loc, *, key: bool = False) -> Spot:
        """The spot of ``loc``, or of its nearest ancestor present in the file."""
        while loc not in self.values:
            loc = loc[:-1]
        return self.keys[loc] if key and loc in self.keys else self.values[loc]

    def problem(self, finding: Finding, source: str) -> Problem:
        line, column = self.at(finding.loc, key=finding.at_key)
        return Problem(source, line, column, format_path(finding.loc), finding.message)


def _spot(node: yaml.Node) -> Spot:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _parse(text: str, source: str) -> tuple[Any, _Positions, list[Problem]]:
    try:
        loader = yaml.SafeLoader(text)  # checks for unprintable characters at once
    except ReaderError as exc:
        raise CharterInvalid((_reader_error(exc, text, source),)) from exc
    try:
        node = loader.get_single_node()
        if node is not None:
            _bounded(node, source)
        data = None if node is None else loader.construct_document(node)
        positions, problems = _Positions(), list[Problem]()
        if node is not None:
            _Walk(loader, positions, problems, source).visit(node, ())
        return data, positions, problems
    except yaml.MarkedYAMLError as exc:
        raise CharterInvalid((_marked_error(exc, source),)) from exc
    finally:
        loader.dispose()


class _Overflow(Exception):
    """The expansion passed the limit at ``node``; ``aliased`` once ``node`` is the outermost
    node on the way there that was reached through an alias (its anchor)."""

    def __init__(self, node: yaml.Node) -> None:
        self.node = node
        self.aliased = False


@dataclass
class _Expansion:
    """Count nodes as :class:`_Walk` reaches them, once per path (an alias's anchor again each
    time it is used), stopping as soon as the count passes ``limit``: the cost is bounded by
    the limit, however far the aliases would expand."""

    limit: int
    count: int = 0
    reached: set[int] = field(default_factory=set)

    def visit(self, node: yaml.Node, seen: frozenset[int] = frozenset()) -> None:
        self.count += 1
        if self.count > self.limit:
            raise _Overflow(node)
        again = id(node) in self.reached
        self.reached.add(id(node))
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        if not children or id(node) in seen:  # a scalar; or a recursive alias, where the walk
            return  # stops too
        inner = seen | {id(node)}  # only collections: copying ``seen`` costs its depth
        try:
            for child in children:
                self.visit(child, inner)
        except _Overflow as exc:
            if again:
                exc.node, exc.aliased = node, True
            raise


def _bounded(node: yaml.Node, source: str) -> None:
    """Refuse a document whose expansion passes :data:`EXPANDED_LIMIT` (see the module rules)."""
    try:
        _Expansion(EXPANDED_LIMIT).visit(node)
    except _Overflow as exc:
        line, column = _spot(exc.node)
        if exc.aliased:
            message = (
                f"too many aliased nodes (limit {EXPANDED_LIMIT}): each alias of this anchor"
                f" repeats everything under it, and the charter grows past {EXPANDED_LIMIT}"
                " values; write the repeated parts out or nest fewer aliases"
            )
        else:
            message = (
                f"too many nodes (limit {EXPANDED_LIMIT}): the charter holds more than"
                f" {EXPANDED_LIMIT} values from here on; is this the right file?"
            )
        raise CharterInvalid((Problem(source, line, column, SYNTAX_PATH, message),)) from None


@dataclass
class _Walk:
    """Record the start of every node by path, and flag keys written twice in one mapping."""

    loader: yaml.SafeLoader
    positions: _Positions
    problems: list[Problem]
    source: str

    def visit(self, node: yaml.Node, loc: Loc, seen: frozenset[int] = frozenset()) -> None:
        self.positions.values[loc] = _spot(node)
        if id(node) in seen:  # a recursive alias: stop here
            return
        inner = seen | {id(node)}
        if isinstance(node, yaml.SequenceNode):
            for index, child in enumerate(node.value):
                self.visit(child, (*loc, index), inner)
        elif isinstance(node, yaml.MappingNode):
            first: dict[Any, yaml.Node] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node)  # hashable: YAML checked it
                if key in first and _within(key_node, node) and _within(first[key], node):
                    self._duplicate((*loc, key), key_node, first[key])
                first[key] = key_node
                self.positions.keys[(*loc, key)] = _spot(key_node)
                self.visit(value_node, (*loc, key), inner)

    def _duplicate(self, loc: Loc, again: yaml.Node, first: yaml.Node) -> None:
        line, column = _spot(again)
        message = (
            f"key {loc[-1]!r} is written twice (first at line {_spot(first)[0]}); "
            "YAML keeps only the last one, so merge the two"
        )
        self.problems.append(Problem(self.source, line, column, format_path(loc), message))


def _within(child: yaml.Node, parent: yaml.Node) -> bool:
    """False for entries pulled in by a ``<<`` merge key, which may be overridden on purpose."""
    return parent.start_mark.index <= child.start_mark.index <= parent.end_mark.index


def _marked_error(exc: yaml.MarkedYAMLError, source: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (1, 1) if mark is None else (mark.line + 1, mark.column + 1)
    message = (exc.problem or exc.context or "invalid YAML").removeprefix("but ")
    if exc.context and exc.problem:
        where = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
        message += f" ({exc.context}{where})"
    if "'\\t'" in message:
        message += "; indent with spaces, not tabs"
    return Problem(source, line, column, SYNTAX_PATH, message)


def _reader_error(exc: ReaderError, text: str, source: str) -> Problem:
    before = text[: exc.position]
    line = before.count("\n") + 1
    column = exc.position - (before.rfind("\n") + 1) + 1
    message = f"character U+{exc.character:04X} is not allowed in a YAML file; remove it"
    return Problem(source, line, column, SYNTAX_PATH, message)
