"""YAML files whose every error names the file, the line and the key: the ``pie evaluate``
config and the farm file read their keys through one reader."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml

from pie._errors import InputError


@attrs.frozen
class Field:
    """A value read from the YAML, with where it was written."""

    value: Any
    line: int
    node: yaml.Node


class Nested:
    """A list or mapping where a plain value was expected (named so in messages)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return self.kind


def read_text(path: Path, what: str, hint: str, error: type[InputError]) -> str:
    """The file's text; ``what`` names it and ``hint`` says what to pass instead."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as problem:
        raise error(f"cannot read {what} {path}: {problem.strerror}{hint}") from None
    except UnicodeDecodeError as problem:
        raise error(
            f"{path}: not UTF-8 text (byte {problem.start}); save the {what} as UTF-8"
        ) from None


class YamlReader:
    """Reads mappings of known keys; errors are ``error`` with ``source:line: where: problem``."""

    def __init__(self, source: str, error: type[InputError] = InputError) -> None:
        self.source = source
        self._error = error
        self._constructor = yaml.constructor.SafeConstructor()

    def error(self, line: int, where: str, problem: str) -> InputError:
        place = f"{self.source}:{line}" if line else self.source
        return self._error(f"{place}: {where}: {problem}" if where else f"{place}: {problem}")

    def compose(self, text: str) -> yaml.Node | None:
        """The document's node tree (None for an empty document)."""
        try:
            node: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line = mark.line + 1 if mark is not None else 0
            raise self.error(line, "", f"not valid YAML ({error.problem})") from None
        except (yaml.YAMLError, RecursionError) as error:
            raise self.error(0, "", f"not valid YAML ({error})") from None
        return node

    def mapping(
        self,
        node: yaml.Node,
        where: str,
        known: tuple[str, ...],
        advice: Mapping[str, str] | None = None,
    ) -> dict[str, Field]:
        """``key: value`` lines of ``node``.  Unknown and repeated keys are errors, all of them
        in one message (a user fixes them in one go); ``advice`` says what to write instead of
        a key another tool uses."""
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.MappingNode):
            raise self.error(line, where, "must be a mapping of 'key: value' lines")
        fields: dict[str, Field] = {}
        problems: list[InputError] = []
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str) or key not in known:
                problems.append(self.error(key_line, where, _unknown(key, known, advice or {})))
            elif key in fields:
                twice = f"key {key!r} is given twice; keep one"
                problems.append(self.error(key_line, where, twice))
            else:
                path = f"{where}.{key}" if where else key
                fields[key] = Field(self.value(value_node, path), key_line, value_node)
        if len(problems) == 1:
            raise problems[0]
        if problems:
            listed = "\n".join(f"  {problem}" for problem in problems)
            raise self._error(f"{self.source}: {len(problems)} problems with keys:\n{listed}")
        return fields

    def value(self, node: yaml.Node, where: str) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            # lists and mappings are read through their node where one belongs ("hosts")
            return Nested("a list" if isinstance(node, yaml.SequenceNode) else "a mapping")
        try:
            return self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError) as error:
            line = node.start_mark.line + 1
            raise self.error(line, where, f"unreadable value ({error})") from None


def _unknown(key: object, known: tuple[str, ...], advice: Mapping[str, str]) -> str:
    if isinstance(key, str) and key in advice:
        return f"unknown key {key!r}; {advice[key]}"
    hint = difflib.get_close_matches(str(key), known, n=1)
    fix = f"did you mean '{hint[0]}'?" if hint else f"known keys: {', '.join(known)}"
    return f"unknown key {key!r}; {fix}"
