"""Reading a user's labelled examples: files (.csv with a header, .jsonl, .parquet), folders of
split files, and Hugging Face datasets (`hf:NAME[:CONFIG]`).

Each reader returns `Splits`: (text, label) records per split name, the label names when the
data names them (a hub dataset's ClassLabel), what to fingerprint for the token cache, and the
files read. tasks.py turns them into pools; nothing here knows about sampling.
"""

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from tinylm.config import TaskConfig
from tinylm.data.hub import PROBE_HOST, hub_offline, internet_reachable
from tinylm.data.io import iter_jsonl, read_csv
from tinylm.errors import TinylmError
from tinylm.paths import offline_switches

FILE_SUFFIXES = (".csv", ".jsonl", ".parquet")
HUB_PREFIX = "hf:"

Records = list[tuple[str, object]]  # (text, label as the data gives it)


@dataclass
class Splits:
    records: dict[str, Records]  # split name ("train", "test", "val") -> records
    label_names: list[str] | None = None  # None: ordered from the labels seen
    sources: list[Path] = field(default_factory=list)  # files read (their hashes key the cache)
    fingerprint: dict = field(default_factory=dict)  # what identifies data without files (hub)


def looks_like_user_data(name: str) -> bool:
    """A name shaped like the user's data: a file, a folder, a hub dataset (tasks.is_user_task
    also rules out the registered names)."""
    return name.startswith(HUB_PREFIX) or name.endswith(FILE_SUFFIXES) or Path(name).is_dir()


def read_file(path: Path, text_column: str, label_column: str) -> Records:
    """The non-blank (text, label) records of one file."""
    if not path.is_file():
        raise TinylmError(f"task file not found: {path}")
    if path.suffix == ".csv":
        columns, rows = read_csv(path, header=True)
        _need_columns(path, columns, text_column, label_column)
        t, lab = columns.index(text_column), columns.index(label_column)
        for number, row in enumerate(rows, start=1):
            if len(row) <= max(t, lab):
                raise TinylmError(
                    f"{path}: data row {number} has {len(row)} column(s), the header "
                    f"{len(columns)} (a line break inside an unquoted field?)"
                )
        records = [(row[t], row[lab]) for row in rows]
    elif path.suffix == ".jsonl":
        records = []
        for number, obj in enumerate(iter_jsonl(path), start=1):
            if text_column not in obj or label_column not in obj:
                raise TinylmError(
                    f"{path}: line {number} lacks the field {text_column!r} or "
                    f"{label_column!r}; use --text-column / --label-column"
                )
            records.append((obj[text_column], obj[label_column]))
    elif path.suffix == ".parquet":
        records = _read_parquet(path, text_column, label_column)
    else:
        raise TinylmError(f"{path}: expected a {', '.join(FILE_SUFFIXES)} file")
    return _non_blank(records, str(path))


def _read_parquet(path: Path, text_column: str, label_column: str) -> Records:
    import pyarrow.parquet as pq  # a dependency of `datasets`, installed with tinylm

    try:
        columns = pq.read_schema(path).names
        _need_columns(path, columns, text_column, label_column)
        table = pq.read_table(path, columns=[text_column, label_column]).to_pydict()
    except (OSError, ValueError) as err:  # pyarrow's ArrowIOError, ArrowInvalid
        raise TinylmError(f"{path}: not a readable parquet file ({err})") from None
    return list(zip(table[text_column], table[label_column], strict=True))


def _need_columns(path, columns, text_column: str, label_column: str) -> None:
    missing = [c for c in (text_column, label_column) if c not in columns]
    if missing:
        raise TinylmError(
            f"{path}: no column {', '.join(map(repr, missing))} "
            f"(columns: {', '.join(columns)}); use --text-column / --label-column"
        )


def _non_blank(records: Records, where: str) -> Records:
    kept = [(str(text).strip(), label) for text, label in records if str(text).strip()]
    if not kept:
        raise TinylmError(f"{where} holds no example with a non-blank text")
    return kept


def read_files(config: TaskConfig) -> Splits:
    """A task file, with the test file when one is given (else one pool to split)."""
    path = Path(config.name).expanduser()
    records = {"train": read_file(path, config.text_column, config.label_column)}
    sources = [path]
    if config.test_file is not None:
        test = Path(config.test_file).expanduser()
        records["test"] = read_file(test, config.text_column, config.label_column)
        sources.append(test)
    return Splits(records, sources=sources)


def read_folder(config: TaskConfig) -> Splits:
    """A folder with <train>, <test> and optionally <validation> files (any of the suffixes)."""
    folder = Path(config.name).expanduser()
    if config.test_file is not None:
        raise TinylmError(f"--test-file goes with a task file, not a folder ({folder})")
    wanted = {"train": config.train_split, "test": config.test_split, "val": config.val_split}
    records, sources = {}, []
    for split, stem in wanted.items():
        found = [folder / f"{stem}{suffix}" for suffix in FILE_SUFFIXES]
        found = [p for p in found if p.is_file()]
        if len(found) > 1:
            raise TinylmError(f"{folder} holds {len(found)} {stem} files: keep one")
        if not found:
            if split == "val":
                continue
            names = ", ".join(p.name for p in sorted(folder.iterdir())) or "nothing"
            raise TinylmError(
                f"{folder} has no {stem} file ({stem}.csv, .jsonl or .parquet); it holds {names}"
            )
        records[split] = read_file(found[0], config.text_column, config.label_column)
        sources.append(found[0])
    return Splits(records, sources=sources)


def _hub_hint(name: str, unreachable: bool) -> str:
    """What to try when a hub dataset does not load: the offline cache."""
    if Path(name).is_dir():
        return ""
    if offline_switches():
        return " (offline mode is on, and the dataset is not in the local cache)"
    if unreachable:
        return f" ({PROBE_HOST} cannot be reached, and the dataset is not in the local cache)"
    return " (offline? set HF_DATASETS_OFFLINE=1 to read the local cache)"


def read_hub(config: TaskConfig) -> Splits:
    """A Hugging Face dataset, `hf:NAME[:CONFIG]`: a hub name (downloaded and cached by
    `datasets`) or a local folder in the hub's layout. Needs the train split; the test split
    is used when it exists (else split from train), the validation split likewise."""
    spec = config.name[len(HUB_PREFIX) :]
    name, _, subset = spec.partition(":")
    if not name:
        raise TinylmError(f"{config.name!r}: name a dataset, as in hf:ag_news or hf:glue:sst2")
    try:
        import datasets
    except ImportError:
        raise TinylmError("hf: tasks need the `datasets` package (pip install datasets)") from None
    # offline without the switches: read the cache at once rather than after `datasets`'
    # half a minute of retries
    unreachable = not Path(name).is_dir() and not offline_switches() and not internet_reachable()
    try:
        with hub_offline() if unreachable else contextlib.nullcontext():
            loaded = datasets.load_dataset(name, subset or None)
    except Exception as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        hint = _hub_hint(name, unreachable)
        raise TinylmError(f"cannot load dataset {spec!r}: {message}{hint}") from None
    wanted = {"train": config.train_split, "test": config.test_split, "val": config.val_split}
    if wanted["train"] not in loaded:
        raise TinylmError(
            f"dataset {spec!r} has no split {wanted['train']!r} (splits: "
            f"{', '.join(loaded)}); use --train-split"
        )
    train = loaded[wanted["train"]]
    _need_columns(f"dataset {spec!r}", train.column_names, config.text_column, config.label_column)
    feature = train.features[config.label_column]
    names = list(feature.names) if isinstance(feature, datasets.ClassLabel) else None
    records, fingerprint = {}, {}
    for split, split_name in wanted.items():
        if split_name not in loaded:
            continue
        data = loaded[split_name]
        labels = data[config.label_column]
        if names is not None:  # ClassLabel ids: the names they stand for (-1: unlabelled)
            labels = [names[i] if i >= 0 else None for i in labels]
        labelled = [
            (t, lab)
            for t, lab in zip(data[config.text_column], labels, strict=True)
            if lab is not None
        ]
        records[split] = _non_blank(labelled, f"split {split_name} of {spec!r}")
        fingerprint[split] = data._fingerprint
    return Splits(records, label_names=names, fingerprint={"hub": spec, **fingerprint})


def read_user_data(config: TaskConfig) -> Splits:
    if config.name.startswith(HUB_PREFIX):
        return read_hub(config)
    if Path(config.name).expanduser().is_dir():
        return read_folder(config)
    return read_files(config)
