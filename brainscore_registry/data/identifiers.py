"""Dataset identifiers and versions: `Name` and `Name@sha256:<64 hex>`."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ..errors import UserInputError

MAX_IDENTIFIER_LENGTH = 80
HASH_ALGORITHM = "sha256"
SHORT_HASH_LENGTH = 12

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_VERSION = re.compile(r"^(?P<name>[^@]+)@sha256:(?P<hex>[0-9a-f]+)$")

IDENTIFIER_RULE = (
    "start with a letter, use only letters, digits, '.', '_' and '-', "
    f"contain no '..', and be at most {MAX_IDENTIFIER_LENGTH} characters, e.g. 'Cowley2023.V4'"
)


def identifier_problem(name: str) -> str | None:
    """Why `name` is not a valid dataset identifier, or None when it is."""
    if not isinstance(name, str) or not name:
        return "is empty"
    if len(name) > MAX_IDENTIFIER_LENGTH:
        return f"is {len(name)} characters long (at most {MAX_IDENTIFIER_LENGTH})"
    if "/" in name or "\\" in name:
        return "contains a path separator"
    if ".." in name:
        return "contains '..'"
    if any(c.isspace() for c in name):
        return "contains whitespace"
    if not _IDENTIFIER.match(name):
        return "contains characters other than letters, digits, '.', '_' and '-', or does not start with a letter"
    if name.endswith("."):
        return "ends with '.'"
    return None


def check_identifier(name: str, *, file: object = None, field: str = "identifier") -> str:
    problem = identifier_problem(name)
    if problem:
        raise UserInputError(
            f"identifier {name!r} {problem}", file=file, field=field, fix=f"an identifier must {IDENTIFIER_RULE}"
        )
    return name


class Version(str):
    """A dataset version: an identifier pinned to the full logical content hash, `Name@sha256:<64 hex>`.

    A `str` subclass on purpose: it is written, hashed, signed and compared exactly as the string it
    always was (catalogue YAML, spec fingerprints, records), while code reads its parts as attributes
    instead of splitting the text by hand. Build one with `Version(name, hexdigest)` or `Version.parse(text)`.
    """

    __slots__ = ("name", "hexdigest")

    def __new__(cls, name: str, hexdigest: str) -> "Version":
        self = super().__new__(cls, f"{name}@{HASH_ALGORITHM}:{hexdigest}")
        self.name, self.hexdigest = name, hexdigest
        return self

    def __getnewargs__(self) -> tuple[str, str]:  # pickling (workers, caches) rebuilds it from its parts
        return (self.name, self.hexdigest)

    @classmethod
    def parse(cls, text: str, *, file: object = None, field: str | None = None) -> "Version":
        """A fully pinned `Name@sha256:<64 hex>`; anything else is a UserInputError naming file and field."""
        return parse_version(text, file=file, field=field)

    @classmethod
    def from_digest(cls, name: str, digest: str) -> "Version":
        """From a name and a `sha256:<hex>` digest, as the logical hash returns it."""
        return cls(name, digest.split(":", 1)[1])

    @property
    def digest(self) -> str:
        return f"{HASH_ALGORITHM}:{self.hexdigest}"

    @property
    def short(self) -> str:
        return self.hexdigest[:SHORT_HASH_LENGTH]

    def __repr__(self) -> str:
        return f"Version({str(self)!r})"


@dataclass(frozen=True)
class Reference:
    """A reference typed by a user: a name alone (meaning the latest version), or a name
    pinned to a full hash or a prefix of at least 12 hex digits."""

    name: str
    hex_prefix: str | None = None

    @property
    def is_pinned(self) -> bool:
        return self.hex_prefix is not None and len(self.hex_prefix) == 64

    def __str__(self) -> str:
        return self.name if self.hex_prefix is None else f"{self.name}@sha256:{self.hex_prefix}"


def parse_reference(text: str, *, file: object = None, field: str | None = None) -> Reference:
    """Parse `Name`, `Name@sha256:<hex>` (64 hex) or `Name@sha256:<prefix of >= 12 hex>`."""
    text = text.strip()
    if "@" not in text:
        return Reference(check_identifier(text, file=file, field=field or "identifier"))
    match = _VERSION.match(text)
    if not match:
        raise UserInputError(
            f"{text!r} is not a dataset version",
            file=file,
            field=field,
            fix="write a version as 'Name@sha256:<64 lowercase hex digits>' (or a prefix of at least 12)",
        )
    hexdigest = match["hex"]
    if not (SHORT_HASH_LENGTH <= len(hexdigest) <= 64):
        raise UserInputError(
            f"{text!r} has a hash of {len(hexdigest)} hex digits",
            file=file,
            field=field,
            fix=f"give the full 64 hex digits, or a prefix of at least {SHORT_HASH_LENGTH}",
        )
    return Reference(check_identifier(match["name"], file=file, field=field or "identifier"), hexdigest)


def parse_version(text: str, *, file: object = None, field: str | None = None) -> Version:
    """Parse a fully pinned `Name@sha256:<64 hex>`."""
    if isinstance(text, Version):
        return text
    ref = parse_reference(text, file=file, field=field)
    if not ref.is_pinned:
        raise UserInputError(
            f"{text!r} is not pinned to a full hash",
            file=file,
            field=field,
            fix="write 'Name@sha256:<64 lowercase hex digits>'",
        )
    return Version(ref.name, ref.hex_prefix)


def is_hex64(text: str) -> bool:
    return bool(_HEX64.match(text))


# ---- labels: stimulus, neuroid and subject ids ---------------------------------------------------

REFUSED_CATEGORIES = {
    "Cc": "control",  # NUL, newline, tab, escape, DEL, ...
    "Cf": "format",  # bidirectional overrides (U+202E), zero-width spaces and joiners, ...
    "Zl": "line separator",
    "Zp": "paragraph separator",
    "Cs": "surrogate",
}
"""Unicode categories an id may not contain: characters that are invisible, reorder the text around
them (so an id displays as another one) or break lines, tables and terminals."""


def label_problem(text: str) -> str | None:
    """Why `text` cannot be an id (None when it can): it holds a control, format (bidirectional or
    zero-width) or separator character, named by its code point."""
    bad = [c for c in text if unicodedata.category(c) in REFUSED_CATEGORIES]
    if not bad:
        return None
    names = ", ".join(dict.fromkeys(f"U+{ord(c):04X} ({REFUSED_CATEGORIES[unicodedata.category(c)]})" for c in bad))
    return f"contains control, format or bidirectional characters: {names}"


def normalize_labels(
    values, *, file: object = None, field: str = "stimulus_id", position: str = "position", first_position: int = 0
) -> list[str]:
    """Ids as stored: each normalised to Unicode NFC (so 'café' typed in NFD, as macOS file names give
    it, is the same id as in NFC); refuses ids with control, format or bidirectional characters, and
    two different ids that become one after normalisation. Messages number the offending `position`s
    from `first_position` (table rows from 2, after the header). Repeated ids (repetitions) stay repeated."""
    texts = [str(v) for v in values]
    first: dict[str, int] = {}
    for i, text in enumerate(texts):
        first.setdefault(text, i + first_position)
    unusual = [t for t in first if not (t.isascii() and t.isprintable())]  # printable ASCII is NFC and clean
    for text in unusual:
        problem = label_problem(text)
        if problem:
            raise UserInputError(
                f"{field} {text!r} ({position} {first[text]}) {problem}",
                file=file,
                field=field,
                fix="remove those characters from the ids; ids are printable text",
            )
    nfc = {t: unicodedata.normalize("NFC", t) for t in unusual}
    if all(nfc[t] == t for t in unusual):
        return texts
    _refuse_collisions(first, nfc, file=file, field=field, position=position)
    return [nfc.get(t, t) for t in texts]


def _refuse_collisions(first: dict[str, int], nfc: dict[str, str], *, file: object, field: str, position: str) -> None:
    """Two spellings of one id after NFC normalisation are two ids the user meant as one (or did not)."""
    spellings: dict[str, list[str]] = {}
    for text in first:
        spellings.setdefault(nfc.get(text, text), []).append(text)
    collisions = {normal: texts for normal, texts in spellings.items() if len(texts) > 1}
    if collisions:
        normal, texts = next(iter(collisions.items()))
        raise UserInputError(
            f"{len(collisions)} {field}(s) collide after Unicode NFC normalisation: {normal!r} ({position}s "
            f"{', '.join(str(first[t]) for t in texts)}) is written in {len(texts)} ways",
            file=file,
            field=field,
            fix="write each id one way: ids are compared after NFC normalisation, so these would name one thing",
        )
