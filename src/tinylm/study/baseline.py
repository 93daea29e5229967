"""The classical reference row: TF-IDF features and logistic regression (scikit-learn), fitted
on the same task sample the networks fine-tune on, scored on the same test split (a read in
the test ledger of the run folder's store, tinylm/ledger.py)."""

from pathlib import Path

import numpy as np

from tinylm.config import TaskConfig
from tinylm.data.sampling import sample_task
from tinylm.data.tasks import load_task
from tinylm.ledger import record_read
from tinylm.train.evaluation import classification_report

# Word unigrams and bigrams with sublinear term frequency: the usual strong linear baseline.
VECTORIZER = {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 1}
CLASSIFIER = {"C": 10.0, "max_iter": 2000}


def fit_tfidf(texts: list[str], labels):
    """TF-IDF + logistic regression fitted on `texts`: a scikit-learn pipeline (`predict`,
    `predict_log_proba`)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(TfidfVectorizer(**VECTORIZER), LogisticRegression(**CLASSIFIER))
    return pipeline.fit(texts, np.asarray(labels))


def tfidf_baseline(config: TaskConfig, data_dir, *, run: Path) -> dict:
    task = load_task(config, data_dir)
    sample = sample_task(task, config)
    predicted = fit_tfidf(sample.train.texts, sample.train.labels).predict(sample.test.texts)
    report = classification_report(np.asarray(predicted), sample.test.labels, sample.num_labels)
    record_read(run, sample, "baseline")
    return {
        "job": "baseline",
        "model": "tfidf+logreg",
        "task": task.name,
        "num_labels": sample.num_labels,
        "test_accuracy": report["accuracy"],
        "test_macro_f1": report["macro_f1"],
        "seed": config.seed,
        "sizes": {name: len(sample.split(name)) for name in ("train", "val", "test")},
    }
