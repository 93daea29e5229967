"""Reading data files with errors a user can act on (file, line, what is wrong)."""

import csv
import gzip
import hashlib
import io
import json
import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import yaml

from tinylm.errors import TinylmError

# Some DBpedia/Wikipedia fields are longer than csv's default limit of 128 KiB.
csv.field_size_limit(2**31 - 1)


def read_text(path: Path) -> str:
    """The whole file as text (gzip when the name ends in .gz), strictly UTF-8.

    A missing file, an empty one or invalid UTF-8 raise TinylmError naming the file
    (and the line, for invalid UTF-8).
    """
    path = Path(path)
    if not path.is_file():
        raise TinylmError(f"file not found: {path}")
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as err:  # unreadable, or a truncated/corrupt gzip stream
        raise TinylmError(f"cannot read {path}: {err}") from None
    if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark is harmless; drop it
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise TinylmError(
            f"{path}: invalid UTF-8 at line {line} (byte {err.start}); save the file as UTF-8"
        ) from None
    if not text.strip():
        raise TinylmError(f"{path} is empty")
    return text


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """Lines split at \\n, \\r\\n or \\r only.

    str.splitlines() also splits at U+2028, U+0085 and other Unicode separators, which may
    stand inside a JSON string or a paragraph; they are text, not line ends.
    """
    lines = _LINE_BREAK.split(text)
    return lines[:-1] if lines and lines[-1] == "" else lines


def read_csv(path: Path, *, header: bool) -> tuple[list[str] | None, list[list[str]]]:
    """(column names or None, rows) of a CSV file; blank lines are skipped."""
    text = read_text(path)
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline="")) if row]
    except csv.Error as err:
        raise TinylmError(f"{path}: malformed CSV: {err}") from None
    columns = None
    if header:
        columns, rows = [c.strip() for c in rows[0]], rows[1:]
    if not rows:
        raise TinylmError(f"{path} has no data rows")
    return columns, rows


def iter_jsonl(path: Path) -> Iterator[dict]:
    """The objects of a JSON-lines file (plain or .gz); blank lines are skipped."""
    for number, line in enumerate(split_lines(read_text(path)), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise TinylmError(f"{path}: line {number} is not valid JSON ({err.msg})") from None
        if not isinstance(record, dict):
            raise TinylmError(f"{path}: line {number} is not a JSON object")
        yield record


def read_json(path: Path):
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise TinylmError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, remembered per (path, size, mtime) within the process."""
    stat = os.stat(path)
    return _sha256(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@cache
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading `1e-3` as the float YAML 1.2 says it is (YAML 1.1, which
    PyYAML follows, wants `1.0e-3` and reads `1e-3` as a string: a learning rate a user writes
    the usual way would be refused)."""


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def load_yaml(text: str, source: str = "the YAML text"):
    """YAML text as Python values (safe: no arbitrary objects), `1e-3` a float; text that is
    not YAML is a TinylmError naming `source` and where the parser stopped."""
    try:
        return yaml.load(text, Loader=_YamlLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise TinylmError(f"{source} is not valid YAML: {problem}{where}") from None


def read_yaml(path: str | os.PathLike):
    """A YAML file's values (load_yaml's rules); its errors name the file."""
    return load_yaml(read_text(Path(path)), source=str(path))
