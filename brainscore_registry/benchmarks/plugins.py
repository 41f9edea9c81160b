"""Benchmark plugins: a metric (and optionally a ceiling) written in Python, pinned like data.

When the spec vocabulary cannot express a lab's protocol, the lab writes one file,
`registry/metrics/<name>.py`, that defines

    METRIC = <a subclass of brainscore_registry.metrics.contract.Metric>
    CEILING = <a subclass of brainscore_registry.metrics.contract.Ceiling>   # optional

following the metric contract (parameters are the constructor's keyword arguments; `__call__`
returns a `Score`; `source_kind` and `target_kind` from contract.SOURCE_KINDS / TARGET_KINDS). A spec
names it and pins the file's sha256, as it pins data:

    metric: {name: "plugin:<name>", plugin_sha256: <64 hex>, params: {...}}
    ceiling: {method: "plugin:<name>", plugin_sha256: <64 hex>}

so the hash enters the spec's fingerprint and every record; a file whose bytes differ from the pin is
refused before it runs (scoring, `verify`, `reproduce`). The code runs from the registry the user
chose (`--registry`), never from a record or any other path, and only the exact bytes that were
hashed are compiled. Checking a spec (listing, `bsr benchmark show`) hashes the file but does not run
it; scoring and `bsr benchmark check` do.
"""

from __future__ import annotations

import hashlib
import re
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import JobError, UserInputError
from ..metrics.contract import SOURCE_KINDS, TARGET_KINDS, Ceiling, Metric, Parameterized
from ..metrics.score import Score

PREFIX = "plugin:"
NAME_RULE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_PLUGIN_BYTES = 1 << 20
"""Largest plugin file read (1 MiB): a metric is a few hundred lines."""
PIN_FIX = (
    "set plugin_sha256 to the file's sha256 named above once you have reviewed its code; for a spec that was "
    "already recorded, also raise its version"
)
_LOADED: dict[tuple[Path, str], types.ModuleType] = {}


def plugin_name(name: str | None) -> str | None:
    """The plugin a metric or ceiling name refers to (`plugin:<name>`), None for a built-in one."""
    return name[len(PREFIX) :] if name and name.startswith(PREFIX) else None


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a plugin file (None when it can): it becomes a path, so it is confined."""
    if not NAME_RULE.match(name):
        return f"plugin name {name!r} must be lowercase letters, digits and '_', starting with a letter (at most 64)"
    return None


def plugins_dir(root: Path) -> Path:
    return Path(root) / "registry" / "metrics"


def plugin_path(root: Path, name: str) -> Path:
    return plugins_dir(root) / f"{name}.py"


def read_plugin(root: Path, name: str) -> bytes:
    """The plugin file's bytes: a regular file (not a link) inside the registry's metrics directory."""
    path = plugin_path(root, name)
    problem = name_problem(name)
    if problem:
        raise UserInputError(problem, field="metric.name", fix="name the plugin after its file, e.g. plugin:odd_one_out")
    if path.is_symlink() or not path.is_file():
        where = "is a symbolic link" if path.is_symlink() else "does not exist"
        raise UserInputError(
            f"plugin {name!r}: {path} {where}",
            file=path,
            fix=f"put the plugin's code in {plugins_dir(root)}/{name}.py (a regular file) of the registry you score from",
        )
    if path.stat().st_size > MAX_PLUGIN_BYTES:
        raise UserInputError(
            f"plugin {name!r} is larger than {MAX_PLUGIN_BYTES >> 20} MiB", file=path, fix="keep it to one metric"
        )
    return path.read_bytes()


def plugin_sha256(root: Path, name: str) -> str:
    return hashlib.sha256(read_plugin(root, name)).hexdigest()


@dataclass(frozen=True)
class PluginPin:
    """One plugin a spec pins: where (`metric` or `ceiling`), its name and the pinned sha256."""

    part: str
    name: str
    sha256: str | None


def pins_of(spec: Any) -> list[PluginPin]:
    """The plugins a spec (a BenchmarkSpec or its JSON form, as records hold it) pins."""
    data = spec if isinstance(spec, dict) else spec.model_dump(mode="json")
    pins = []
    for part, key in (("metric", "name"), ("ceiling", "method")):
        name = plugin_name((data.get(part) or {}).get(key))
        if name is not None:
            pins.append(PluginPin(part, name, data[part].get("plugin_sha256")))
    return pins


def pin_problems(root: Path, spec: Any) -> list[str]:
    """Every pinned plugin whose file is missing or whose bytes differ from the pin (empty: all match)."""
    problems = []
    for pin in pins_of(spec):
        try:
            actual = plugin_sha256(root, pin.name)
        except UserInputError as exc:
            problems.append(exc.message)
            continue
        if actual != pin.sha256:
            problems.append(_changed(root, pin, actual))
    return problems


def _changed(root: Path, pin: PluginPin, actual: str) -> str:
    if pin.sha256 is None:
        return f"the {pin.part} names plugin {pin.name!r} but pins no plugin_sha256 (the file's is {actual})"
    return (
        f"plugin {pin.name!r} ({plugin_path(root, pin.name)}) has sha256 {actual}, but the {pin.part} pins "
        f"{pin.sha256}: its code changed after it was pinned"
    )


def check_pins(root: Path, spec: Any, file: object = None) -> None:
    """Refuse a spec whose plugin files are missing or changed (exit 2), naming the fix."""
    problems = pin_problems(root, spec)
    if problems:
        raise UserInputError(
            "; ".join(problems),
            file=file,
            field="plugin_sha256",
            fix=PIN_FIX,
        )


def load_module(root: Path, pin: PluginPin) -> types.ModuleType:
    """The plugin's module, compiled from the exact bytes whose hash matches the pin."""
    source = read_plugin(root, pin.name)
    actual = hashlib.sha256(source).hexdigest()
    path = plugin_path(root, pin.name)
    if actual != pin.sha256:
        raise UserInputError(_changed(root, pin, actual), file=path, field=f"{pin.part}.plugin_sha256", fix=PIN_FIX)
    key = (path.resolve(), actual)
    if key not in _LOADED:
        module = types.ModuleType(f"bsr_plugin_{pin.name}_{actual[:12]}")
        module.__file__ = str(path)
        try:
            exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 - the pinned plugin, by design
        except Exception as exc:  # the plugin's own error: report it as such
            raise JobError(
                f"plugin {pin.name!r} failed to load: {type(exc).__name__}: {exc}",
                file=path,
                fix="fix the plugin file (then pin its new sha256 and raise the spec's version)",
            ) from None
        _LOADED[key] = module
    return _LOADED[key]


def _contract_class(module: types.ModuleType, pin: PluginPin, path: Path) -> type[Parameterized]:
    attribute, base = ("METRIC", Metric) if pin.part == "metric" else ("CEILING", Ceiling)
    cls = getattr(module, attribute, None)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise UserInputError(
            f"plugin {pin.name!r} defines no {attribute} (a subclass of brainscore_registry.metrics.contract.{base.__name__})",
            file=path,
            field=attribute,
            fix=f"set {attribute} = YourClass in the plugin, a {base.__name__} following the metric contract",
        )
    kinds = [("target_kind", TARGET_KINDS)] + ([("source_kind", SOURCE_KINDS)] if base is Metric else [])
    for attr, known in kinds:
        if getattr(cls, attr, None) not in known:
            raise UserInputError(
                f"plugin {pin.name!r}: {cls.__name__}.{attr} is {getattr(cls, attr, None)!r}, not one of {', '.join(known)}",
                file=path,
                field=attr,
                fix=f"set {attr} to the kind of input it reads (brainscore_registry.metrics.contract)",
            )
    return cls


def build(root: Path, pin: PluginPin, params: dict | None = None) -> Parameterized:
    """The plugin's metric or ceiling with the spec's parameters (unknown ones refused by name)."""
    path = plugin_path(root, pin.name)
    cls = _contract_class(load_module(root, pin), pin, path)
    try:
        accepted = set(cls.parameter_names())
    except TypeError as exc:
        raise UserInputError(str(exc), file=path, field=pin.part, fix="name every constructor parameter") from None
    unknown = sorted(set(params or {}) - accepted)
    if unknown:
        raise UserInputError(
            f"plugin {pin.name!r} takes no parameter {', '.join(map(repr, unknown))}; it takes: {sorted(accepted)}",
            field=f"{pin.part}.params",
            fix="remove the parameter, or use one it takes",
        )
    instance = guarded(pin, "construction", lambda: cls(**(params or {})), expect=cls)
    return PluginCall(instance, pin)


def guarded(pin: PluginPin, what: str, call, expect: type = Score):
    """Run plugin code: its exceptions become a failed job naming the plugin (exit 1); our own user errors
    pass through; a result of the wrong type is refused rather than written into a record."""
    from ..errors import BsrError

    try:
        result = call()
    except BsrError:
        raise
    except Exception as exc:
        raise JobError(
            f"plugin {pin.name!r} raised {type(exc).__name__} in its {what}: {exc}",
            fix="fix the plugin (then pin its new sha256 and raise the spec's version); nothing was written",
        ) from None
    if not isinstance(result, expect):
        raise JobError(
            f"plugin {pin.name!r} returned {type(result).__name__} from its {what}, not a {expect.__name__}",
            fix=f"return a brainscore_registry.metrics.score.{expect.__name__}; nothing was written",
        )
    return result


class PluginCall(Parameterized):
    """A plugin's metric or ceiling behind `guarded`: the same parameters, kinds and progress, with
    its failures reported as the plugin's."""

    def __init__(self, instance: Parameterized, pin: PluginPin) -> None:
        self._instance, self._pin = instance, pin
        self.target_kind = instance.target_kind
        self.source_kind = getattr(instance, "source_kind", None)

    def params(self) -> dict[str, Any]:
        return guarded(self._pin, "params()", self._instance.params, expect=dict)

    def conditioning_note(self, n_stimuli: int) -> str | None:
        return None

    def __call__(self, *args: Any) -> Score:
        self._instance.progress = self.progress
        return guarded(self._pin, self._pin.part, lambda: self._instance(*args))
