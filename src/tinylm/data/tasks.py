"""Classification tasks: the registry (TaskSpec, one per built-in task) and the loaders that
turn files into labelled pools.

A task has a train pool and a test pool of (text, label id) pairs, read from separate files
(AG News, DBpedia, the user's data with a test split), or one pool that sampling splits without
overlap (FewRel, Medical Abstracts without its train file, a single user file); the user's data
may give a validation pool too. A test text never occurs on the train side: with two pools,
test-pool texts found in the train pool are left out here (validation-pool texts likewise);
with one pool, the sampler draws test examples only from texts that occur once (FewRel repeats
a sentence when it holds several entity pairs).

| task       | text                      | labels | train/test per label | files          |
|------------|---------------------------|--------|----------------------|----------------|
| agnews     | title + " " + description | 4      | 1000 / 1000          | ag_news/       |
| dbpedia    | title + " " + content     | 14     | 100 / 100            | dbpedia/ (1)   |
| fewrel     | sentence tokens joined    | 64     | 630 / 70             | train_wiki.json|
| fewrel-val | sentence tokens joined    | 16     | 630 / 70             | val_wiki.json  |
| medical    | the abstract              | 5      | 1000 / 250 (2)       | medical_abstracts/ |
| your data  | the text column           | any    | see `user_task`      | user_data.py   |

(1) train.csv/test.csv, else the two unofficial DHIM subsets, with a notice.
(2) with its train file; the test file alone is one pool: 200 / 60, with a notice.
"""

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinylm import layout
from tinylm.config import TaskConfig
from tinylm.data.io import file_sha256, read_csv, read_json, read_text, split_lines
from tinylm.data.user_data import HUB_PREFIX, looks_like_user_data, read_user_data
from tinylm.errors import TinylmError

AGNEWS_NAMES = ["World", "Sports", "Business", "Sci/Tech"]
DBPEDIA_NAMES = [
    "Company",
    "EducationalInstitution",
    "Artist",
    "Athlete",
    "OfficeHolder",
    "MeanOfTransportation",
    "Building",
    "NaturalPlace",
    "Village",
    "Animal",
    "Plant",
    "Album",
    "Film",
    "WrittenWork",
]


@dataclass
class Pool:
    texts: list[str]
    labels: np.ndarray  # label ids, int64

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class TaskData:
    """A task's labelled pools, before sampling."""

    name: str
    label_names: list[str]  # label id -> name
    train_pool: Pool
    test_pool: Pool | None  # None: the test sample is split from the train pool
    default_train_per_label: int
    default_test_per_label: int
    sources: list[Path]
    val_pool: Pool | None = None  # a given validation split (else carved from train)
    default_sampling: str = "balanced"  # the paper's tasks: balanced; the user's data: all
    text_options: dict = field(default_factory=dict)  # how texts were built (cache key)
    notices: list[str] = field(default_factory=list)

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def fingerprint(self) -> dict:
        """What determines the pools' texts: for the token cache key."""
        return {
            "task": self.name,
            "sources": [file_sha256(p) for p in self.sources],
            "options": self.text_options,
        }


# --- built-in tasks ---------------------------------------------------------------------------


def _read_class_names(path: Path, fallback: list[str]) -> list[str]:
    if not path.is_file():
        return fallback
    return [line.strip() for line in split_lines(read_text(path)) if line.strip()]


def _read_labelled_csv(path: Path, num_labels: int, build_text) -> Pool:
    """Rows `class,title,body` with 1-based classes (the Zhang et al. 2015 CSV layout)."""
    _, rows = read_csv(path, header=False)
    return _read_labelled_rows(path, rows, num_labels, build_text)


def _read_labelled_rows(path: Path, rows: list[list[str]], num_labels: int, build_text) -> Pool:
    texts, labels = [], []
    for number, row in enumerate(rows, start=1):
        if len(row) != 3:
            raise TinylmError(f"{path}: row {number} has {len(row)} columns, expected 3")
        try:
            label = int(row[0]) - 1
        except ValueError:
            raise TinylmError(f"{path}: row {number} has class {row[0]!r}, not a number") from None
        if not 0 <= label < num_labels:
            raise TinylmError(f"{path}: row {number} has class {row[0]}, expected 1..{num_labels}")
        texts.append(build_text(row[1], row[2]))
        labels.append(label)
    return Pool(texts, np.array(labels, dtype=np.int64))


def _join(*parts: str) -> str:
    return " ".join(" ".join(parts).split())


def agnews(data_dir: Path, config: TaskConfig) -> TaskData:
    train, test = data_dir / layout.AGNEWS_TRAIN, data_dir / layout.AGNEWS_TEST
    names = _read_class_names(data_dir / layout.AGNEWS_CLASSES, AGNEWS_NAMES)

    # AG News marks line breaks inside a field with a bare backslash ("dwindling\band"):
    # read them as spaces, so "\" never becomes a token.
    def text(title, description):
        return _join(title.replace("\\", " "), description.replace("\\", " "))

    train_pool = _read_labelled_csv(train, len(names), text)
    official = layout.OFFICIAL_ROWS[layout.AGNEWS_TRAIN]
    notices = []
    if len(train_pool) < official:
        notices.append(
            f"{layout.AGNEWS_TRAIN} is partial ({len(train_pool):,} of {official:,} rows)"
        )
    return TaskData(
        name="agnews",
        label_names=names,
        train_pool=train_pool,
        test_pool=_read_labelled_csv(test, len(names), text),
        default_train_per_label=1000,
        default_test_per_label=1000,
        sources=[train, test],
        text_options={"text": "title+description", "backslash": "space"},
        notices=notices,
    )


def dbpedia(data_dir: Path, config: TaskConfig) -> TaskData:
    train, test = data_dir / layout.DBPEDIA_TRAIN, data_dir / layout.DBPEDIA_TEST
    notices = []
    if not (train.is_file() and test.is_file()):
        sub_train = data_dir / layout.DBPEDIA_SUBSET_TRAIN
        sub_test = data_dir / layout.DBPEDIA_SUBSET_TEST
        if not (sub_train.is_file() and sub_test.is_file()):
            raise TinylmError(
                f"dbpedia needs {train} and {test} (or the subsets {sub_train.name} and "
                f"{sub_test.name}); `tinylm data fetch` downloads the official files"
            )
        train, test = sub_train, sub_test
        notices.append(
            "dbpedia: the official train.csv/test.csv are absent; using the unofficial 5,000-row "
            f"subsets ({sub_train.name} as the train pool, {sub_test.name} as the test pool). "
            "Results are not comparable with official DBpedia figures."
        )
    names = _read_class_names(data_dir / layout.DBPEDIA_CLASSES, DBPEDIA_NAMES)
    return TaskData(
        name="dbpedia",
        label_names=names,
        train_pool=_read_labelled_csv(train, len(names), _join),
        test_pool=_read_labelled_csv(test, len(names), _join),
        default_train_per_label=100,
        default_test_per_label=100,
        sources=[train, test],
        text_options={"text": "title+content"},
        notices=notices,
    )


def _fewrel(path: Path, name: str, data_dir: Path, config: TaskConfig) -> TaskData:
    if not path.is_file():
        hint = (
            " (only the 16 relations of val_wiki.json are here: try fewrel-val)"
            if (name == "fewrel" and (data_dir / layout.FEWREL_VAL).is_file())
            else ""
        )
        raise TinylmError(f"fewrel file not found: {path}{hint}")
    relations = read_json(path)
    if not isinstance(relations, dict) or not relations:
        raise TinylmError(f"{path}: expected a JSON object {{relation: [instances]}}")
    pid_names = {}
    names_file = data_dir / layout.FEWREL_NAMES
    if names_file.is_file():
        pid_names = {pid: v[0] for pid, v in read_json(names_file).items()}
    label_ids = sorted(relations)
    texts, labels = [], []
    for label, relation in enumerate(label_ids):
        for number, instance in enumerate(relations[relation]):
            try:
                texts.append(_fewrel_text(instance, config.entity_markers))
            except (KeyError, IndexError, TypeError):
                raise TinylmError(
                    f"{path}: instance {number} of {relation} lacks tokens/h/t"
                ) from None
            labels.append(label)
    return TaskData(
        name=name,
        label_names=[f"{pid} ({pid_names[pid]})" if pid in pid_names else pid for pid in label_ids],
        train_pool=Pool(texts, np.array(labels, dtype=np.int64)),
        test_pool=None,
        default_train_per_label=630,
        default_test_per_label=70,
        sources=[path],
        text_options={"entity_markers": config.entity_markers},
    )


def _fewrel_text(instance: dict, entity_markers: bool) -> str:
    """The sentence's tokens joined by spaces; optionally `@ head @` and `# tail #` markers.

    The punctuation markers (Zhou & Chen 2021) are single WordPiece tokens already in the
    vocabulary, so marking costs four tokens and no new embeddings.
    """
    tokens = list(instance["tokens"])
    if entity_markers:
        before = [""] * len(tokens)
        after = [""] * len(tokens)
        for mark, entity in (("@", instance["h"]), ("#", instance["t"])):
            for span in entity[2]:
                before[span[0]] += mark + " "
                after[span[-1]] += " " + mark
        tokens = [b + tok + a for b, tok, a in zip(before, tokens, after, strict=True)]
    return " ".join(tokens)


def fewrel(data_dir: Path, config: TaskConfig) -> TaskData:
    return _fewrel(data_dir / layout.FEWREL_TRAIN, "fewrel", data_dir, config)


def fewrel_val(data_dir: Path, config: TaskConfig) -> TaskData:
    return _fewrel(data_dir / layout.FEWREL_VAL, "fewrel-val", data_dir, config)


MEDICAL_NAMES = [
    "neoplasms",
    "digestive system diseases",
    "nervous system diseases",
    "cardiovascular diseases",
    "general pathological conditions",
]
MEDICAL_COLUMNS = ["condition_label", "medical_abstract"]


def medical(data_dir: Path, config: TaskConfig) -> TaskData:
    """Medical Abstracts: PubMed abstracts of five classes of patient conditions, a domain far
    from Wikipedia. Without its train file (the shared copy holds the test split only) the
    test file is the one pool, which the sampler splits without overlap."""
    train, test = data_dir / layout.MEDICAL_TRAIN, data_dir / layout.MEDICAL_TEST
    if not test.is_file():
        raise TinylmError(
            f"medical needs {test}; `tinylm data fetch --only medical` downloads the official files"
        )
    names = MEDICAL_NAMES
    labels_file = data_dir / layout.MEDICAL_LABELS
    if labels_file.is_file():
        rows = read_csv(labels_file, header=True)[1]
        if any(len(row) != 2 for row in rows):
            raise TinylmError(f"{labels_file}: expected rows `condition_label,condition_name`")
        names = [name.strip() for _, name in rows]
    test_pool = _read_medical_csv(test, len(names))
    notices = []
    if train.is_file():
        train_pool, sizes = _read_medical_csv(train, len(names)), (1000, 250)
    else:
        # the smallest class holds 299 test abstracts: 200 + 60 fit in each
        train_pool, test_pool, sizes = test_pool, None, (200, 60)
        notices.append(
            f"medical: {layout.MEDICAL_TRAIN} is absent; the train and test samples are both "
            f"drawn, without overlap, from {layout.MEDICAL_TEST}"
        )
    return TaskData(
        name="medical",
        label_names=names,
        train_pool=train_pool,
        test_pool=test_pool,
        default_train_per_label=sizes[0],
        default_test_per_label=sizes[1],
        sources=[path for path in (train, test) if path.is_file()],
        notices=notices,
    )


def _read_medical_csv(path: Path, num_labels: int) -> Pool:
    """Rows `condition_label,medical_abstract` under that header, classes 1-based."""
    columns, rows = read_csv(path, header=True)
    if columns != MEDICAL_COLUMNS:
        raise TinylmError(f"{path}: columns {columns}, expected {MEDICAL_COLUMNS}")
    return _read_labelled_rows(path, [[row[0], "", *row[1:]] for row in rows], num_labels, _join)


@dataclass(frozen=True)
class TaskSpec:
    """A built-in task: everything the rest of tinylm knows of it by name. The data check,
    `tinylm data fetch`, the data needs of a command, help strings and report titles all read
    this registry, so a new task is one entry here (and its fetcher in fetch.py)."""

    name: str
    title: str  # in reports and plots
    load: Callable[[Path, TaskConfig], TaskData]
    dataset: str  # the dataset of `tinylm data fetch` that provides its files
    # the file sets (relative to the data folder) that satisfy it: the first is the official
    # one, the one a fetch writes
    files: tuple[tuple[str, ...], ...]
    # the slot it fills among the default studies' tasks (a slot's first usable task is
    # taken); None: not one of them
    study_slot: str | None = None


TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec(
            "agnews", "AG News", agnews, "agnews", ((layout.AGNEWS_TRAIN, layout.AGNEWS_TEST),),
            study_slot="agnews",
        ),
        TaskSpec(
            "dbpedia", "DBpedia", dbpedia, "dbpedia",
            (
                (layout.DBPEDIA_TRAIN, layout.DBPEDIA_TEST),
                (layout.DBPEDIA_SUBSET_TRAIN, layout.DBPEDIA_SUBSET_TEST),
            ),
            study_slot="dbpedia",
        ),
        TaskSpec(
            "fewrel", "FewRel", fewrel, "fewrel", ((layout.FEWREL_TRAIN,),),
            study_slot="fewrel",
        ),
        TaskSpec(
            "fewrel-val", "FewRel", fewrel_val, "fewrel", ((layout.FEWREL_VAL,),),
            study_slot="fewrel",
        ),
        TaskSpec(
            "medical", "Medical Abstracts", medical, "medical",
            (
                (layout.MEDICAL_TRAIN, layout.MEDICAL_TEST, layout.MEDICAL_LABELS),
                (layout.MEDICAL_TEST,),
            ),
        ),
    )
}  # fmt: skip
# The datasets of `tinylm data fetch` that tasks come from, in the registry's order
TASK_DATASETS = tuple(dict.fromkeys(spec.dataset for spec in TASKS.values()))
TASK_HELP = (
    f"{', '.join(TASKS)}; your data: a .csv/.jsonl/.parquet file, a folder of train and test "
    "files, or hf:NAME[:CONFIG] (a Hugging Face dataset)"
)


def task_title(name: str) -> str:
    """How reports name a task: its title when built in, else the name given."""
    return TASKS[name].title if name in TASKS else name


# --- the user's data ---------------------------------------------------------------------------


def user_task(config: TaskConfig) -> TaskData:
    """A task from the user's data (user_data.py): a file, a file and its test file, a folder of
    split files, or a hub dataset.

    Labels may be of any type; they are mapped to ids in the data's own order when it names
    them (a hub ClassLabel), else in a stable order (numeric when all labels are integers, else
    sorted as strings), over every split. With no test split, the test sample is split from
    the train pool; for balanced sampling, by default a fifth of the smallest label's examples
    per label go to test and the rest to train.
    """
    splits = read_user_data(config)
    records = splits.records
    names = splits.label_names or _ordered_labels(
        [label for split in records.values() for _, label in split]
    )
    index = {name: i for i, name in enumerate(names)}

    def pool(split: str) -> Pool | None:
        if split not in records:
            return None
        texts = [text for text, _ in records[split]]
        return Pool(texts, np.array([index[str(lab)] for _, lab in records[split]], np.int64))

    train_pool, test_pool = pool("train"), pool("test")
    smallest = int(np.bincount(train_pool.labels, minlength=len(names)).min())
    if test_pool is None:
        default_train, default_test = smallest - max(1, smallest // 5), max(1, smallest // 5)
    else:
        default_train = smallest
        default_test = int(np.bincount(test_pool.labels, minlength=len(names)).min())
    notices = []
    unseen = sorted(set(names) - {str(lab) for _, lab in records["train"]})
    if unseen:
        notices.append(f"{config.name}: labels with no train example: {', '.join(unseen)}")
    return TaskData(
        name=config.name,
        label_names=names,
        train_pool=train_pool,
        test_pool=test_pool,
        val_pool=pool("val"),
        default_train_per_label=default_train,
        default_test_per_label=default_test,
        default_sampling="all",
        sources=splits.sources,
        text_options={
            "text_column": config.text_column,
            "label_column": config.label_column,
            **({"data": splits.fingerprint} if splits.fingerprint else {}),
        },
        notices=notices,
    )


def _ordered_labels(labels: list) -> list[str]:
    unique = sorted({str(label) for label in labels})
    try:
        return sorted(unique, key=int)
    except ValueError:
        return unique


# --- entry point ------------------------------------------------------------------------------


def is_user_task(name: str) -> bool:
    """The user's data (a file, a folder, a hub dataset), not a registered task: a folder
    named `agnews` in the working directory does not shadow the task."""
    return name not in TASKS and looks_like_user_data(name)


def load_task(config: TaskConfig, data_dir: str | os.PathLike | None) -> TaskData:
    """The pools of a registered task or of the user's data, deduplicated (see the module
    doc)."""
    if config.name in TASKS:
        if data_dir is None:
            raise TinylmError(f"task {config.name} needs a data directory")
        if config.test_file is not None:
            raise TinylmError(f"--test-file goes with your own task file, not {config.name}")
        task = TASKS[config.name].load(Path(data_dir), config)
    elif is_user_task(config.name):
        try:
            task = user_task(config)
        except TinylmError as err:
            raise TinylmError(f"{err}{_built_in_hint(config.name)}") from None
    else:
        raise TinylmError(
            f"unknown task {config.name!r}: use one of {', '.join(TASKS)}, a .csv / .jsonl / "
            ".parquet file, a folder of train and test files, or hf:NAME"
        )
    deduplicate(task)
    return task


def _built_in_hint(name: str) -> str:
    """A pointer to the built-in task a hub name stands for (hf:fancyzhx/ag_news: agnews),
    which reads the data folder and needs no network."""
    if not name.startswith(HUB_PREFIX):
        return ""
    stem = re.sub(
        r"[^a-z]", "", name.removeprefix(HUB_PREFIX).split(":")[0].rsplit("/")[-1].lower()
    )
    for task in TASKS:
        if stem.startswith(re.sub(r"[^a-z]", "", task)):
            return f"; the built-in task {task!r} reads the data folder, without the hub"
    return ""


def deduplicate(task: TaskData) -> None:
    """Drop test- and validation-pool texts that the train pool holds, or that repeat within
    their pool (or, for validation, that the test pool holds).

    A one-pool task needs nothing here: the sampler draws its test sample from texts that
    occur once in the pool (see sampling.py).
    """
    seen = set(task.train_pool.texts)
    for split in ("test", "val"):
        pool = getattr(task, f"{split}_pool")
        if pool is None:
            continue
        keep = []
        for i, text in enumerate(pool.texts):
            if text not in seen:
                seen.add(text)
                keep.append(i)
        dropped = len(pool) - len(keep)
        if dropped:
            setattr(task, f"{split}_pool", Pool([pool.texts[i] for i in keep], pool.labels[keep]))
            task.notices.append(
                f"{task.name}: left out {dropped} {split} text(s) that the train pool holds or "
                f"that repeat, so no two splits share an example"
            )
