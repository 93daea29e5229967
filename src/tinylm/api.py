"""The Python API: `TinyClassifier`, a scikit-learn estimator, and `pretrain` / `finetune`.

They run the command line's code (the same configs, trainer, run folders and files), so a
model fitted in a notebook is a run folder that `tinylm predict`, `evaluate` and `export` read,
and a run folder made by `tinylm finetune` loads as an estimator (`TinyClassifier.load`).

    from tinylm import TinyClassifier
    clf = TinyClassifier(init="runs/pre", epochs=20).fit(texts, labels)
    clf.predict(["stocks fell sharply"])
"""

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from tinylm.data.tasks import Pool, TaskData
from tinylm.data.token_cache import TokenizedTexts
from tinylm.errors import TinylmError
from tinylm.files import write_text
from tinylm.paths import resolve_cache_dir, resolve_data_dir
from tinylm.train.config import RECIPES, FinetuneConfig, PretrainConfig, with_recipe
from tinylm.train.evaluation import load_classifier, predict_logits
from tinylm.train.finetune import finetune as run_finetune
from tinylm.train.pretrain import pretrain as run_pretrain

CLASSES_FILE = "classes.json"  # beside model/: the estimator's classes_, as fit was given them
TASK_NAME = "texts"  # the task name an in-memory fit records in its config.yaml


def pretrain(out, *, data_dir=None, cache_dir=None, progress: bool = False, **fields) -> dict:
    """`tinylm pretrain` from Python: PretrainConfig fields as keyword arguments (sections as
    mappings: `train={"max_tokens": 2_000_000}`), the tinylm recipe's defaults beneath them.
    Returns the run's summary; the model is in `out/model`."""
    config = PretrainConfig.from_dict(with_recipe(fields, "tinylm", "pretrain"))
    return _run(run_pretrain, config, out, data_dir, cache_dir, progress)


def finetune(out, *, data_dir=None, cache_dir=None, progress: bool = False, **fields) -> dict:
    """`tinylm finetune` from Python: FinetuneConfig fields as keyword arguments
    (`task={"name": "agnews", "train_per_label": 100}`, `init="runs/pre"`), the tinylm
    recipe's defaults beneath them. Returns the run's summary."""
    config = FinetuneConfig.from_dict(with_recipe(fields, "tinylm", "finetune"))
    return _run(run_finetune, config, out, data_dir, cache_dir, progress)


def _run(train, config, out, data_dir, cache_dir, progress: bool, **options) -> dict:
    """A training function of train/ on `config`, with the command line's data and cache
    folders (TINYLM_DATA_DIR and the default cache where None)."""
    data_dir, cache_dir = resolve_data_dir(data_dir), resolve_cache_dir(cache_dir)
    return train(
        config, out=out, data_dir=data_dir, cache_dir=cache_dir, progress=progress, **options
    )


class TinyClassifier(ClassifierMixin, BaseEstimator):
    """A tiny BERT text classifier with scikit-learn's interface: `fit(texts, labels)`,
    `predict`, `predict_proba`, `score`; `clone`-able, so it works in `Pipeline`,
    `cross_val_score` and `GridSearchCV`.

    init: a pre-training run (or its model/ folder) to start the encoder from; None trains
        from scratch with `arch` (default: the tinylm recipe's conv twin).
    epochs, lr, batch_size, pooling: fine-tuning settings (None: the tinylm recipe's: 20
        epochs, batch 16, mean pooling, lr 3e-3 from a pre-trained model, 1e-3 from scratch).
    seed: initial weights, batch order and dropout; the same seed and data give the same model.
    precision, threads, device: how it runs (as the command line's flags).
    out: the run folder to write, a new one for each fit (None: a temporary one, removed with
        the estimator unless `save` copies it).
    """

    def __init__(
        self,
        init=None,
        arch=None,
        *,
        epochs: int | None = None,
        lr: float | None = None,
        batch_size: int | None = None,
        pooling: str | None = None,
        seed: int = 0,
        precision: str = "fp32",
        threads: int | None = None,
        device: str = "cpu",
        out=None,
        data_dir=None,
        cache_dir=None,
        progress: bool = False,
    ):
        self.init = init
        self.arch = arch
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.pooling = pooling
        self.seed = seed
        self.precision = precision
        self.threads = threads
        self.device = device
        self.out = out
        self.data_dir = data_dir
        self.cache_dir = cache_dir
        self.progress = progress

    def _config(self) -> FinetuneConfig:
        train = {
            k: v
            for k, v in {
                "epochs": self.epochs,
                "lr": self.lr,
                "batch_size": self.batch_size,
                "seed": self.seed,
            }.items()
            if v is not None
        }
        fields = {
            "task": {"name": TASK_NAME, "sampling": "all", "seed": self.seed},
            "init": None if self.init is None else str(self.init),
            "select": "last",
            "score_test": False,
            "train": train,
            "impl": {  # nothing to resume: a fit is re-run whole
                "precision": self.precision,
                "threads": self.threads,
                "device": self.device,
                "checkpoints": False,
            },
        }
        if self.init is None:
            fields["arch"] = self.arch or RECIPES["tinylm"]["arch"]
        if self.pooling is not None:
            fields["pooling"] = self.pooling
        return FinetuneConfig.from_dict(with_recipe(fields, "tinylm", "finetune"))

    def fit(self, X, y):
        """Fine-tunes on the texts `X` and their labels `y` (any values; `classes_` holds
        them sorted), every example training (no validation or test split is carved)."""
        texts = [str(text) for text in X]
        labels = np.asarray(y)
        if len(texts) != len(labels):
            raise TinylmError(f"{len(texts)} texts but {len(labels)} labels")
        classes = np.unique(labels)
        if len(classes) < 2:
            raise TinylmError(f"a classifier needs at least 2 labels, got {len(classes)}")
        ids = np.searchsorted(classes, labels).astype(np.int64)
        digest = hashlib.sha256(json.dumps([texts, ids.tolist()]).encode()).hexdigest()
        task = TaskData(
            name=TASK_NAME,
            label_names=[str(c) for c in classes],
            train_pool=Pool(texts, ids),
            test_pool=Pool([], np.zeros(0, dtype=np.int64)),
            default_train_per_label=0,
            default_test_per_label=0,
            sources=[],
            default_sampling="all",
            text_options={"sha256": digest},  # the token cache's key: these very texts
        )
        out = self._run_folder()
        config = self._config()
        _run(run_finetune, config, out, self.data_dir, self.cache_dir, self.progress, task=task)
        self.classes_ = classes
        write_text(out / CLASSES_FILE, json.dumps(classes.tolist()) + "\n")
        self._load(out)
        return self

    def _run_folder(self) -> Path:
        if self.out is not None:
            out = Path(self.out)
            if out.exists() and any(out.iterdir()):
                raise TinylmError(
                    f"out={str(out)!r} already holds a run; give each fit a new folder (or "
                    "out=None, a temporary one)"
                )
            return out
        self._temporary = tempfile.TemporaryDirectory(prefix="tinylm-")
        return Path(self._temporary.name) / "run"

    def _load(self, folder: Path) -> None:
        data_dir = resolve_data_dir(self.data_dir) if self.data_dir else None
        self.model_, self.tokenizer_ = load_classifier(folder, data_dir)
        self.run_dir_ = Path(folder)

    def predict_proba(self, X) -> np.ndarray:
        """(texts, classes) probabilities, columns in the order of `classes_`."""
        check_is_fitted(self, "model_")
        texts = [str(text) for text in X]
        if not texts:
            return np.zeros((0, len(self.classes_)))
        tokens = TokenizedTexts.from_lists(self.tokenizer_.encode_batch(texts))
        import torch

        logits = predict_logits(
            self.model_, tokens, pad_id=self.tokenizer_.pad_id, device=torch.device("cpu")
        )
        return logits.softmax(-1).numpy()

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(1)]

    def save(self, path) -> Path:
        """Copies the fitted run folder to `path`: what `tinylm finetune` writes (config.yaml,
        summary.json, model/ with its vocabulary), which `tinylm predict` reads."""
        check_is_fitted(self, "model_")
        path = Path(path)
        if path.exists():
            raise TinylmError(f"{path} exists; save writes a new folder")
        shutil.copytree(self.run_dir_, path, ignore=shutil.ignore_patterns(".lock", "checkpoints"))
        return path

    @classmethod
    def load(cls, path, data_dir=None) -> "TinyClassifier":
        """A fitted estimator from a run folder (`save`'s, or any `tinylm finetune` run): it
        predicts at once; its parameters are the defaults, so `fit` on it trains afresh."""
        path = Path(path)
        estimator = cls(out=None, data_dir=data_dir)
        estimator._load(path)
        classes = path / CLASSES_FILE
        names = estimator.model_.label_names
        estimator.classes_ = np.asarray(
            json.loads(classes.read_text()) if classes.is_file() else names
        )
        return estimator


__all__ = ["TinyClassifier", "finetune", "pretrain"]
