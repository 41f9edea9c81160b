"""Reading metadata YAML files into validated schemas, with errors that name file, key and fix."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import UserInputError, did_you_mean

M = TypeVar("M", bound=BaseModel)


def _dotted(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys allowed at `loc` (the parent of an offending key), following nested models."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None or isinstance(part, int):
            continue
        field = current.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        current = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return list(current.model_fields) if current is not None else []


TEMPLATE_HINT = "`bsr meta-template`"


def validation_error(exc: ValidationError, model: type[BaseModel], file: object, hint: str = TEMPLATE_HINT) -> UserInputError:
    """Turn pydantic's error list into one UserInputError naming every bad key and its fix."""
    problems, fixes = [], []
    first_field = None
    for err in exc.errors():
        loc = tuple(err["loc"])
        field = _dotted(loc)
        first_field = first_field or field
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            problems.append(f"unknown key '{field}'.{did_you_mean(str(loc[-1]), allowed)}")
            fixes.append(f"remove '{field}' (allowed keys: {', '.join(allowed)})")
        elif err["type"] == "missing":
            problems.append(f"missing required key '{field}'")
            fixes.append(f"add '{field}' (see {hint})")
        else:
            message = err["msg"].removeprefix("Value error, ")
            problems.append(message if len(exc.errors()) == 1 else f"'{field}': {message}")  # one: the field is named apart
    fix = "; ".join(fixes) or f"correct the values above (see {hint} for an example)"
    return UserInputError(
        "; ".join(problems),
        file=file,
        field=first_field if len(problems) == 1 else None,
        fix=fix,
    )


def parse_metadata(data: object, model: type[M], *, file: object = "<metadata>", hint: str = TEMPLATE_HINT) -> M:
    """Validate `data` as `model`; errors name the file, every bad key and the fix (with `hint`, where
    to find an example)."""
    if isinstance(data, model):
        return data
    if not isinstance(data, dict):
        raise UserInputError(
            f"metadata must be a mapping of keys to values, got {type(data).__name__}",
            file=file,
            fix=f"write YAML keys, as in {hint}",
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, model, file, hint) from None


MAX_YAML_BYTES = 1 << 20
"""Largest metadata, spec or card file read (1 MiB): the largest real one is a few kB."""
MAX_YAML_DEPTH = 64
"""Deepest nesting of mappings and lists in one of those files: real ones nest 3 or 4 levels."""


class YamlBoundError(yaml.YAMLError):
    """A YAML document outside what bsr reads: an anchor or alias, nesting past MAX_YAML_DEPTH, or a
    key given twice in one mapping. Carries the line, the dotted field and the fix."""

    def __init__(self, problem: str, line: int | None, field: str | None, fix: str) -> None:
        self.problem = problem if line is None else f"{problem} (line {line})"
        self.field, self.fix = field, fix
        super().__init__(self.problem)


class BoundedLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses, while composing (before any value is built), what has no
    legitimate use in a metadata file, a benchmark spec or a model card and can hurt a reader:

    - anchors and aliases (`&a`, `*a`): an 800-byte "billion laughs" file expands to gigabytes when a
      validator copies it;
    - nesting deeper than MAX_YAML_DEPTH: the composer recurses per level, so 50,000 brackets end in
      a RecursionError;
    - a key given twice in one mapping: YAML keeps the last one silently.
    """

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._fields: list[str] = []  # the dotted path of the node being composed
        self._depth = 0

    def _field(self) -> str | None:
        return ".".join(self._fields) or None

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            mark = "*" if isinstance(event, yaml.AliasEvent) else "&"
            raise YamlBoundError(
                f"YAML anchors and aliases ('{mark}{event.anchor}') are not allowed",
                event.start_mark.line + 1,
                self._field(),
                "write every value out in full; metadata, benchmark specs and model cards take no anchors or aliases",
            )
        nested = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        if nested and self._depth >= MAX_YAML_DEPTH:
            raise YamlBoundError(
                f"the document nests deeper than {MAX_YAML_DEPTH} levels",
                event.start_mark.line + 1,
                self._fields[0] if self._fields else None,
                f"flatten the document: metadata, specs and cards nest a few levels, at most {MAX_YAML_DEPTH}",
            )
        self._depth += nested
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= nested
        if isinstance(node, yaml.MappingNode):
            self._refuse_duplicate_keys(node)
        return node

    def compose_sequence_node(self, anchor):
        """As SafeLoader's, with each item's index on the dotted path."""
        start = self.get_event()
        tag = start.tag if start.tag not in (None, "!") else self.resolve(yaml.SequenceNode, None, start.implicit)
        node = yaml.SequenceNode(tag, [], start.start_mark, None, flow_style=start.flow_style)
        while not self.check_event(yaml.SequenceEndEvent):
            self._fields.append(str(len(node.value)))
            try:
                node.value.append(self.compose_node(node, len(node.value)))
            finally:
                self._fields.pop()
        node.end_mark = self.get_event().end_mark
        return node

    def compose_mapping_node(self, anchor):
        """As SafeLoader's, with each value's key on the dotted path."""
        start = self.get_event()
        tag = start.tag if start.tag not in (None, "!") else self.resolve(yaml.MappingNode, None, start.implicit)
        node = yaml.MappingNode(tag, [], start.start_mark, None, flow_style=start.flow_style)
        while not self.check_event(yaml.MappingEndEvent):
            key = self.compose_node(node, None)
            self._fields.append(str(key.value) if isinstance(key, yaml.ScalarNode) else "?")
            try:
                node.value.append((key, self.compose_node(node, key)))
            finally:
                self._fields.pop()
        node.end_mark = self.get_event().end_mark
        return node

    def _refuse_duplicate_keys(self, node: yaml.MappingNode) -> None:
        """Scalar keys are compared as composed (tag and text): `a` twice is refused, `1` and `'1'` are two keys."""
        seen: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue  # a complex key is refused by the constructor (unhashable) or by the schema
            line = key.start_mark.line + 1
            if (key.tag, key.value) in seen:
                raise YamlBoundError(
                    f"key {key.value!r} is given twice (lines {seen[key.tag, key.value]} and {line}); "
                    "YAML would silently keep the last",
                    None,
                    ".".join([*self._fields, str(key.value)]),
                    f"keep one {key.value!r} and delete the other",
                )
            seen[key.tag, key.value] = line


def _refuse_unreadable(path: Path) -> None:
    """Only a regular file is read: a named pipe would block the reader, a device stream without end."""
    if not path.exists():
        raise UserInputError("file not found", file=path, fix="check the path")
    if not path.is_file():
        raise UserInputError(
            "is not a regular file (a directory, named pipe or device)", file=path, fix="give the path of a YAML file"
        )


def read_yaml(path: str | Path) -> object:
    """A metadata, spec or card file through `BoundedLoader`: a regular file of at most MAX_YAML_BYTES,
    no anchors or aliases, nesting at most MAX_YAML_DEPTH, no key given twice. Numbers are checked
    (finite) by the schemas, which name the field."""
    path = Path(path)
    _refuse_unreadable(path)
    with path.open("rb") as fh:
        data = fh.read(MAX_YAML_BYTES + 1)
    if len(data) > MAX_YAML_BYTES:
        raise UserInputError(
            f"the file is larger than the {MAX_YAML_BYTES:,} bytes a metadata, spec or card file may have",
            file=path,
            fix="keep only the documented keys; bulky content belongs in the data, not its description",
        )
    try:
        return load_yaml_text(data.decode("utf-8"))
    except YamlBoundError as exc:
        raise UserInputError(exc.problem, file=path, field=exc.field, fix=exc.fix) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserInputError(
            f"not valid YAML: {exc}", file=path, fix="fix the YAML syntax (indentation, quotes, colons)"
        ) from None


def load_yaml_text(text: str) -> object:
    """`yaml.safe_load` through `BoundedLoader`; raises YamlBoundError or yaml.YAMLError. For any YAML
    written by someone else (a catalogue entry of a cloned registry included)."""
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def load_metadata(path: str | Path, model: type[M]) -> M:
    return parse_metadata(read_yaml(path), model, file=path)
