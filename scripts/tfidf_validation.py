"""TF-IDF + logistic regression (the studies' baseline, study/baseline.py) fitted on the train
part of each cpu-preset sample with 20% held out, scored on that held-out validation part: the
yardstick of the recipe's validation trials (docs/recipe.md, stage 11). No test split is read.

    python scripts/tfidf_validation.py [--seeds 0 1 2]
"""

import argparse
import json

from tinylm.config import TaskConfig
from tinylm.data.sampling import sample_task
from tinylm.data.tasks import load_task
from tinylm.paths import resolve_data_dir
from tinylm.study.baseline import fit_tfidf
from tinylm.study.presets import PRESETS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--val-fraction", type=float, default=0.2)
    args = parser.parse_args()
    data_dir = resolve_data_dir()
    scores = {}
    for name, (train, test) in PRESETS["cpu"].sizes.items():
        task = load_task(TaskConfig(name=name), data_dir)
        for seed in args.seeds:
            config = TaskConfig(
                name=name,
                train_per_label=train,
                test_per_label=test,
                seed=seed,
                val_fraction=args.val_fraction,
            )
            sample = sample_task(task, config)
            predicted = fit_tfidf(sample.train.texts, sample.train.labels).predict(sample.val.texts)
            scores[f"{name}-s{seed}"] = round(float((predicted == sample.val.labels).mean()), 4)
    print(json.dumps(scores))


if __name__ == "__main__":
    main()
