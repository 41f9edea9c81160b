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


def read_yaml(path: str | Path) -> object:
    path = Path(path)
    if not path.is_file():
        raise UserInputError("file not found", file=path, fix="check the path")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise UserInputError(
            f"not valid YAML: {exc}", file=path, fix="fix the YAML syntax (indentation, quotes, colons)"
        ) from None


def load_metadata(path: str | Path, model: type[M]) -> M:
    return parse_metadata(read_yaml(path), model, file=path)
