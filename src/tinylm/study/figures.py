"""Figures generated, not typed: the blocks of Markdown that `tinylm study report` computes
from the results.csv files, in README.md, docs/findings.md and every study's table.md.

Figures typed by hand go stale: docs/findings.md quoted the budget study's 2M-token gaps of
four seeds long after the fifth had changed them (issue 42). So every figure the docs quote
from a study sits between two comments,

    ... gaps of <!-- figures: gap/cpu gaps -->**+0.084 [...]** ...<!-- /figures --> over ...

whose text is rewritten from OUT/STUDY/PRESET/results.csv by the function the name selects:
`STUDY/PRESET FIGURE [ARGUMENT...]`, FIGURE one of quoted.py's (or `table`: the study's own
table, which table.md holds in such a block). Where the opening comment ends its line, the
block is a table or a paragraph, set between blank lines; within a line it is a phrase, and
cannot start the line (Markdown would read the line as raw HTML). The text around a block is
never touched: the prose stays written by hand, the figures it quotes are computed by the
studies' own summaries. tests/test_figures.py fails when a committed block differs from what
the committed results give.
"""

import inspect
import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from tinylm.errors import TinylmError
from tinylm.files import atomic_open, write_text
from tinylm.study.registry import STUDIES
from tinylm.study.results import read_rows

# The documents whose blocks `tinylm study report` rewrites, relative to the parent of its
# output folder (the repository root when the output folder is `results/`); a missing one is
# skipped, so an output folder elsewhere (demo/results) rewrites no document.
DOCUMENTS = ("README.md", "docs/findings.md")

OPEN, CLOSE = "<!-- figures: ", "<!-- /figures -->"
_BLOCK = re.compile(re.escape(OPEN) + r"(?P<name>.*?) -->(?P<body>.*?)" + re.escape(CLOSE), re.S)


def block(name: str, text: str) -> str:
    """`text` as a block of its own lines, as a study writes its table into table.md."""
    return f"{OPEN}{name} -->\n\n{text}\n\n{CLOSE}"


class Results:
    """The results.csv files of an output folder, each read once, as its study reads them."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self._rows: dict[tuple[str, str], list[dict]] = {}

    def rows(self, study: str, preset: str) -> list[dict]:
        if (study, preset) not in self._rows:
            path = self.out / study / preset / "results.csv"
            if not path.is_file():
                raise TinylmError(f"{path} does not exist")
            self._rows[study, preset] = read_rows(path, STUDIES[study].text_columns)
        return self._rows[study, preset]


def unmarked(text: str) -> str:
    """`text` without its blocks' comments, for a terminal: the figures alone."""
    return _BLOCK.sub(lambda match: match["body"].strip("\n"), text)


def figures() -> dict[str, Callable[..., str]]:
    """Every figure by `STUDY FIGURE`: quoted.py's, and each study's table."""
    from tinylm.study.quoted import FIGURES

    return {**{f"{name} table": study.table for name, study in STUDIES.items()}, **FIGURES}


def generate(name: str, results: Results) -> str:
    """The text of the block `name` (`STUDY/PRESET FIGURE [ARGUMENT...]`)."""
    source, *words = name.split() or [""]
    study, _, preset = source.partition("/")
    known = figures()
    function = known.get(f"{study} {words[0]}") if words and preset else None
    if function is None:
        ours = [key.split()[1] for key in known if key.split()[0] == study]
        names = f"{study}/PRESET {', '.join(ours)}" if ours else "STUDY/PRESET FIGURE"
        raise TinylmError(
            f"unknown figures block {name!r}; known: {names} (studies: {', '.join(STUDIES)})"
        )
    signature = inspect.signature(function)
    try:
        signature.bind(None, *words[1:])
    except TypeError:
        usage = [
            p.name.upper() if p.default is p.empty else f"[{p.name.upper()}]"
            for p in list(signature.parameters.values())[1:]
        ]
        raise TinylmError(
            f"figures block {name!r}: its arguments are {' '.join(usage) or 'none'}"
        ) from None
    try:
        rows = results.rows(study, preset)
    except TinylmError as error:
        raise TinylmError(f"figures block {name!r}: {error}") from None
    return function(rows, *words[1:])


def rewrite(text: str, results: Results, where: str = "text") -> str:
    """`text` with every block's body generated anew; TinylmError names the block (and
    `where` it is) that cannot be."""
    leftover = _BLOCK.sub("", text)
    if OPEN in leftover or CLOSE in leftover:
        raise TinylmError(f"{where}: a figures block is not closed by {CLOSE} (or not opened)")

    def body(match: re.Match) -> str:
        name, old = match["name"], match["body"]
        line = text.count("\n", 0, match.start()) + 1
        try:
            new = generate(name, results)
        except TinylmError as error:
            raise TinylmError(f"{where}, line {line}: {error}") from None
        if old.startswith("\n"):  # a block of its own lines
            return f"{OPEN}{name} -->\n\n{new}\n\n{CLOSE}"
        start = text.rfind("\n", 0, match.start()) + 1
        if not text[start : match.start()].strip() or "\n" in new:
            raise TinylmError(
                f"{where}, line {line}: block {name!r} lies within a line, so it may neither "
                "start one nor hold several (put it on lines of its own)"
            )
        return f"{OPEN}{name} -->{new}{CLOSE}"

    return _BLOCK.sub(body, text)


def rewrite_files(paths: Iterable[Path], results: Results, root: Path | None = None) -> list:
    """Rewrites the blocks of each file that exists; returns the files that changed."""
    changed = []
    for path in paths:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        where = str(path.relative_to(root)) if root else str(path)
        new = rewrite(text, results, where)
        if new != text:
            write_text(path, new)
            changed.append(path)
    return changed


def documents(out: Path) -> list[Path]:
    """README.md and docs/findings.md beside the output folder, whether they exist or not."""
    return [Path(out).resolve().parent / name for name in DOCUMENTS]


def rewrite_documents(out: Path, results: Results | None = None) -> list[Path]:
    """The figures of the documents beside the output folder, rewritten."""
    return rewrite_files(documents(out), results or Results(out), Path(out).resolve().parent)


def after_study(out: Path, echo=print) -> None:
    """A study run's rewrite of the documents' figures. Unlike `tinylm study report`, it warns
    rather than fails: a document may quote a study that `study all` has yet to run."""
    try:
        for path in rewrite_documents(out):
            echo(f"rewrote the figures of {path}")
    except TinylmError as error:
        echo(f"warning: the figures the documents quote were not rewritten: {error}")


def rewrite_tables(out: Path, results: Results | None = None) -> list[Path]:
    """Every study's table.md under `out`, its table rewritten from its results.csv, and its
    plot redrawn, written only where its bytes change (matplotlib draws the same rows to the
    same bytes; another version of it may not). A table.md written before tables were blocks
    keeps its text and its plot."""
    results = results or Results(out)
    changed = []
    for name, study in STUDIES.items():
        for table in sorted(Path(out).glob(f"{name}/*/table.md")):
            changed += rewrite_files([table], results, Path(out))
            text = table.read_text(encoding="utf-8")
            plot = table.parent / f"{name}.png"
            caption = _caption(text)
            if OPEN not in text or caption is None or not plot.is_file():
                continue
            with tempfile.TemporaryDirectory() as folder:
                drawn = Path(folder) / plot.name
                study.plot(results.rows(name, table.parent.name), drawn, caption)
                if drawn.read_bytes() != plot.read_bytes():
                    with atomic_open(plot, text=False) as f:
                        f.write(drawn.read_bytes())
                    changed.append(plot)
    return changed


def _caption(table: str) -> str | None:
    """The plot's footer as the study wrote it: table.md's provenance line."""
    line = next((line for line in table.splitlines() if line.startswith("Produced by ")), None)
    return None if line is None else line.replace("`", "")
