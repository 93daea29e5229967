"""`tinylm data fetch`: download the official datasets into a data directory.

What comes from where (written in the layout of `tinylm.data.layout`, see docs/data.md):

- tokenizer: `vocab.txt` of the hub model `bert-base-uncased` (huggingface_hub).
- wikipedia: the first `wiki_articles` articles of the hub dataset `wikimedia/wikipedia`,
  config `20231101.en` (streamed), cut into paragraphs as described in shared/data/MANIFEST.md.
- agnews: the hub dataset `fancyzhx/ag_news`, train and test splits.
- dbpedia: the hub dataset `fancyzhx/dbpedia_14`, train and test splits.
- fewrel: `train_wiki.json`, `val_wiki.json` and `pid2name.json` of github.com/thunlp/FewRel.

The writers are plain functions over iterables, so they can be tested without a network.
Every file is written atomically: an interrupted fetch never leaves a partial file in place.
"""

import contextlib
import csv
import gzip
import itertools
import json
import re
import shutil
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from tinylm import layout
from tinylm.data.hub import PROBE_HOST, PROBE_PORT, internet_reachable
from tinylm.data.io import split_lines
from tinylm.data.tasks import (
    AGNEWS_NAMES,
    DBPEDIA_NAMES,
    MEDICAL_COLUMNS,
    MEDICAL_NAMES,
    TASK_DATASETS,
)
from tinylm.errors import TinylmError
from tinylm.files import atomic_open
from tinylm.paths import DATA_DIR_ENV, offline_switches

DATASETS = ("tokenizer", "wikipedia", *TASK_DATASETS)


VOCAB_REPO = "bert-base-uncased"
WIKI_DATASET = ("wikimedia/wikipedia", "20231101.en")
MEDICAL_DATASET = "TimSchopf/medical_abstracts"
FEWREL_URL = "https://raw.githubusercontent.com/thunlp/FewRel/master/data/{name}.json"
URL_TIMEOUT_S = 60


@dataclass(frozen=True)
class _Classification:
    """A hub classification dataset and where its official-format files go."""

    dataset: str
    # Label i of the hub dataset is class i + 1 of the official CSVs: these names, in order.
    classes: tuple[str, ...]
    splits: dict[str, str]  # hub split -> layout path
    classes_file: str
    fields: Callable[[dict], tuple[str, str]]  # hub row -> (title, text)


AGNEWS = _Classification(
    "fancyzhx/ag_news",
    tuple(AGNEWS_NAMES),
    {"train": layout.AGNEWS_TRAIN, "test": layout.AGNEWS_TEST},
    layout.AGNEWS_CLASSES,
    # The hub copy joins title and description into `text`; the title column stays empty.
    lambda row: ("", row["text"]),
)
DBPEDIA = _Classification(
    "fancyzhx/dbpedia_14",
    tuple(DBPEDIA_NAMES),
    {"train": layout.DBPEDIA_TRAIN, "test": layout.DBPEDIA_TEST},
    layout.DBPEDIA_CLASSES,
    lambda row: (row["title"], row["content"]),
)

MIN_PARAGRAPH_WORDS = 20
# Leftovers of wiki markup that the extraction did not render: math placeholders, tags,
# templates and links. Such lines are not prose.
_MARKUP = ("formula_", "<", "{{", "}}", "[[")
# A paragraph opens with a word character, a quote or "(" ("(a) ...": 141 of the shared
# corpus's 300,000 paragraphs do); a list bullet, a table cell or a stray symbol does not.
_PROSE_START = re.compile(r"[\w\"'“‘(]")


# ---------------------------------------------------------------- entry point


def fetch(
    data_dir: Path,
    *,
    only: list[str] | None = None,
    wiki_articles: int = 150_000,
    wiki_paragraphs: int | None = None,
    progress: bool = True,
    why: str = "",
    again: str = "tinylm data fetch",
) -> list[Path]:
    """Download the datasets named in `only` (default: all of DATASETS) into data_dir; the
    Wikipedia corpus from the first `wiki_articles` articles, stopping at `wiki_paragraphs`
    paragraphs when given (a preset's need).

    Returns the paths written. Raises TinylmError, before writing anything, when there is
    no internet access (the message adds `why` the data is needed and the command, `again`,
    to run once online), and when a download fails.
    """
    names = _selected(only)
    if wiki_articles < 1:
        raise TinylmError(f"wiki_articles must be at least 1, got {wiki_articles}")
    if wiki_paragraphs is not None and wiki_paragraphs < 1:
        raise TinylmError(f"wiki_paragraphs must be at least 1, got {wiki_paragraphs}")
    require_internet(why, again)
    data_dir = Path(data_dir)
    fetchers: dict[str, Callable[[], list[Path]]] = {
        "tokenizer": lambda: fetch_tokenizer(data_dir),
        "wikipedia": lambda: fetch_wikipedia(
            data_dir, wiki_articles, paragraphs=wiki_paragraphs, progress=progress
        ),
        "agnews": lambda: fetch_agnews(data_dir, progress=progress),
        "dbpedia": lambda: fetch_dbpedia(data_dir, progress=progress),
        "fewrel": lambda: fetch_fewrel(data_dir, progress=progress),
        "medical": lambda: fetch_medical(data_dir, progress=progress),
    }
    written: list[Path] = []
    for name in names:
        with _download_errors(name):
            written += fetchers[name]()
    return written


def _selected(only: list[str] | None) -> list[str]:
    if only is None:
        return list(DATASETS)
    unknown = sorted(set(only) - set(DATASETS))
    if unknown:
        raise TinylmError(
            f"unknown dataset(s) {', '.join(unknown)}; choose from {', '.join(DATASETS)}"
        )
    return [name for name in DATASETS if name in only]


@contextlib.contextmanager
def _download_errors(name: str) -> Iterator[None]:
    # Hub, HTTP and streaming errors come in many types; all mean "could not download".
    try:
        yield
    except TinylmError:
        raise
    except Exception as err:
        raise TinylmError(f"downloading {name} failed: {err}") from None


# ---------------------------------------------------------------- connectivity


def require_internet(why: str = "", again: str = "tinylm data fetch") -> None:
    """Raise TinylmError unless the hub looks reachable (and offline mode is off): one line
    with the reason, `why` the data is needed, and both ways out (a data folder, or `again`
    once online)."""
    offline = offline_switches()
    if offline:
        reason = f"{offline[0]} is set (offline mode)"
    else:
        try:
            reachable = internet_reachable()
        except OSError:
            reachable = False
        if reachable:
            return
        reason = f"cannot reach {PROBE_HOST}:{PROBE_PORT} (no internet access?)"
    raise TinylmError(
        f"tinylm data fetch needs internet access, but {reason}{'; ' + why if why else ''}. "
        f"Offline, set {DATA_DIR_ENV}=DIR (or pass --data-dir DIR) to a copy of the data laid "
        f"out as in docs/data.md instead, or run `{again}` once online."
    )


# ---------------------------------------------------------------- downloads


def fetch_tokenizer(data_dir: Path) -> list[Path]:
    from huggingface_hub import hf_hub_download

    source = Path(hf_hub_download(repo_id=VOCAB_REPO, filename="vocab.txt"))
    target = data_dir / layout.VOCAB
    with source.open("rb") as src, atomic_open(target, text=False) as dst:
        shutil.copyfileobj(src, dst)
    return [target]


def fetch_wikipedia(
    data_dir: Path, articles: int, *, paragraphs: int | None = None, progress: bool = True
) -> list[Path]:
    import datasets

    stream = datasets.load_dataset(*WIKI_DATASET, split="train", streaming=True)
    # Cut the stream before tqdm, so that the bar counts the articles actually read; with a
    # paragraph limit, the bar counts paragraphs, the limit most likely met first.
    first = itertools.islice(stream, articles)
    target = data_dir / layout.WIKIPEDIA
    if paragraphs is None:
        bar = tqdm(first, total=articles, unit="article", desc="wikipedia", disable=not progress)
        with bar:
            write_wikipedia(target, bar, articles)
    else:
        bar = tqdm(total=paragraphs, unit="paragraph", desc="wikipedia", disable=not progress)
        with bar:
            write_wikipedia(target, first, articles, paragraphs=paragraphs, written=bar.update)
    return [target]


def fetch_agnews(data_dir: Path, *, progress: bool = True) -> list[Path]:
    return _fetch_classification(AGNEWS, data_dir, progress)


def fetch_dbpedia(data_dir: Path, *, progress: bool = True) -> list[Path]:
    return _fetch_classification(DBPEDIA, data_dir, progress)


def _fetch_classification(spec: _Classification, data_dir: Path, progress: bool) -> list[Path]:
    import datasets

    loaded = datasets.load_dataset(spec.dataset)
    for split in spec.splits:
        _check_label_names(spec, loaded[split])
    written = []
    for split, relative in spec.splits.items():
        rows = loaded[split]
        bar = tqdm(
            rows, total=len(rows), unit="row", desc=f"{spec.dataset} {split}", disable=not progress
        )
        with bar:
            write_classification_csv(
                data_dir / relative, ((row["label"] + 1, *spec.fields(row)) for row in bar)
            )
        written.append(data_dir / relative)
    write_classes(data_dir / spec.classes_file, spec.classes)
    return [*written, data_dir / spec.classes_file]


def _check_label_names(spec: _Classification, rows) -> None:
    # The 1-based class ids of the CSVs are only right if the hub keeps the official order.
    names = getattr(rows.features.get("label"), "names", None)
    if names is not None and tuple(names) != spec.classes:
        raise TinylmError(
            f"{spec.dataset}: unexpected label names {names}; expected {list(spec.classes)}"
        )


def fetch_medical(data_dir: Path, *, progress: bool = True) -> list[Path]:
    """Medical Abstracts from the hub (its `default` subset: condition_label 1-5 and
    medical_abstract; its `labels` subset: the class names), written in the layout of the
    corpus's GitHub repository."""
    import datasets

    loaded = datasets.load_dataset(MEDICAL_DATASET)
    written = []
    for split, relative in (("train", layout.MEDICAL_TRAIN), ("test", layout.MEDICAL_TEST)):
        rows = loaded[split]
        bar = tqdm(rows, total=len(rows), unit="row", desc=f"medical {split}", disable=not progress)
        with bar:
            columns = MEDICAL_COLUMNS
            write_csv(data_dir / relative, columns, ([row[c] for c in columns] for row in bar))
        written.append(data_dir / relative)
    labels = sorted(datasets.load_dataset(MEDICAL_DATASET, "labels")["train"], key=_label_id)
    if [row["condition_label"] for row in labels] != list(range(1, len(MEDICAL_NAMES) + 1)):
        raise TinylmError(f"{MEDICAL_DATASET}: unexpected label ids in its `labels` subset")
    label_rows = ([row["condition_label"], row["condition_name"]] for row in labels)
    write_csv(data_dir / layout.MEDICAL_LABELS, ["condition_label", "condition_name"], label_rows)
    return [*written, data_dir / layout.MEDICAL_LABELS]


def _label_id(row: dict) -> int:
    return row["condition_label"]


def fetch_fewrel(data_dir: Path, *, progress: bool = True) -> list[Path]:
    targets = {
        "train_wiki": layout.FEWREL_TRAIN,
        "val_wiki": layout.FEWREL_VAL,
        "pid2name": layout.FEWREL_NAMES,
    }
    written = []
    for name, relative in targets.items():
        raw = _download(FEWREL_URL.format(name=name), f"fewrel {name}", progress)
        write_fewrel_json(data_dir / relative, json.loads(raw))
        written.append(data_dir / relative)
    return written


def _download(url: str, desc: str, progress: bool) -> bytes:
    with urllib.request.urlopen(url, timeout=URL_TIMEOUT_S) as response:
        size = response.headers.get("Content-Length")
        total = int(size) if size else None
        bar = tqdm(total=total, unit="B", unit_scale=True, desc=desc, disable=not progress)
        chunks = []
        with bar:
            for chunk in iter(lambda: response.read(1 << 16), b""):
                chunks.append(chunk)
                bar.update(len(chunk))
    return b"".join(chunks)


# ---------------------------------------------------------------- writers


def article_paragraphs(text: str) -> list[str]:
    """The eligible paragraphs of an article's plain text, in order.

    Each non-blank line is a candidate; kept are those with at least MIN_PARAGRAPH_WORDS
    words that look like prose (no markup leftovers, starting with a word character or a
    quote). Headings and list items are short lines, so the word count drops them.
    """
    paragraphs = []
    for line in split_lines(text):
        line = line.strip()
        if len(line.split()) < MIN_PARAGRAPH_WORDS:
            continue
        if any(mark in line for mark in _MARKUP) or not _PROSE_START.match(line):
            continue
        paragraphs.append(line)
    return paragraphs


def write_wikipedia(
    path: Path,
    articles: Iterable[dict],
    limit: int,
    *,
    paragraphs: int | None = None,
    written: Callable[[int], object] | None = None,
) -> int:
    """Write every eligible paragraph of the first `limit` articles as gzipped JSON lines,
    the first `paragraphs` of them when given (no further article is read then).

    Articles are dicts with keys id, title and text. `written(1)` is called after each
    paragraph (a progress bar's update). Returns the number of paragraphs.
    """
    count = 0
    records = _paragraph_records(itertools.islice(articles, limit))
    # No file name in the gzip header (it would be the temporary name), and mtime 0, so that
    # the same articles always give the same bytes.
    with (
        atomic_open(path, text=False) as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz,
    ):
        for record in itertools.islice(records, paragraphs):
            gz.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
            count += 1
            if written is not None:
                written(1)
    return count


def _paragraph_records(articles: Iterable[dict]) -> Iterator[dict]:
    for article in articles:
        for index, text in enumerate(article_paragraphs(article["text"])):
            yield {
                "title": article["title"],
                "article_id": int(article["id"]),
                "para_index": index,
                "text": text,
            }


def write_classification_csv(path: Path, rows: Iterable[tuple[int, str, str]]) -> None:
    """Write (class id, title, text) rows as the official CSVs are: no header, all quoted."""
    with atomic_open(path) as f:
        writer = csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\n")
        for class_id, title, text in rows:
            writer.writerow((class_id, title, text))


def write_csv(path: Path, columns: list[str], rows: Iterable[list]) -> None:
    """A header and rows, quoted where needed (the layout of Medical Abstracts' files)."""
    with atomic_open(path) as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)


def write_classes(path: Path, names: Iterable[str]) -> None:
    """One class name per line, for class ids 1, 2, ..."""
    with atomic_open(path) as f:
        f.writelines(f"{name}\n" for name in names)


def write_fewrel_json(path: Path, obj: dict) -> None:
    # json.dumps' defaults (ASCII escapes, ", " and ": ", no final newline) reproduce the
    # official files byte for byte.
    with atomic_open(path) as f:
        f.write(json.dumps(obj))
