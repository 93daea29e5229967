"""How a pre-training moved the word embeddings of the pieces it barely read (docs/recipe.md,
stage 13): per band of counts in the run's pre-training subset, the mean pairwise cosine and
the mean norm of the embeddings (random initialisation: cosine 0). With `--redraw MIN OUT`,
also writes a copy of the run whose embeddings of pieces read fewer than MIN times are drawn
again at random (at the mean norm of the pieces read 50 times or more), for fine-tuning.
A diagnostic of the recipe's trials, not a tinylm feature.

    python scripts/rare_embeddings.py RUN [--redraw 5 OUT]
"""

import argparse
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from tinylm.config import CorpusConfig
from tinylm.data.corpus import load_subset
from tinylm.data.io import read_yaml
from tinylm.paths import resolve_cache_dir, resolve_data_dir
from tinylm.tokenizer import load_tokenizer

WORDS = "bert.embeddings.word_embeddings.weight"
BANDS = ((0, 1), (1, 5), (5, 50), (50, 1000), (1000, None))
SPECIAL = 1000  # bert-base's ids below 1000 are [PAD], [unused*] and the like


def piece_counts(run: Path) -> np.ndarray:
    """How often each piece occurs in one epoch of the run's pre-training subset."""
    config = read_yaml(run / "config.yaml")  # the resolved config: sections as written
    data_dir = resolve_data_dir(None)
    tokenizer = load_tokenizer(data_dir, vocab_file=config.get("vocab"))
    subset = load_subset(
        CorpusConfig.from_dict(config["corpus"]),
        data_dir=data_dir,
        tokenizer=tokenizer,
        cache_dir=resolve_cache_dir(None),
        progress=False,
    )
    ids = np.concatenate([np.asarray(subset.tokens[i]) for i in range(len(subset.tokens))])
    return np.bincount(ids, minlength=tokenizer.vocab_size)


def mean_cosine(vectors: torch.Tensor) -> float:
    unit = torch.nn.functional.normalize(vectors, dim=1)
    n = len(unit)
    return float(((unit @ unit.T).sum() - n) / (n * (n - 1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a pre-training run folder")
    parser.add_argument("--redraw", nargs=2, metavar=("MIN", "OUT"))
    args = parser.parse_args()
    weights = load_file(args.run / "model/model.safetensors")
    embeddings = weights[WORDS]
    counts = piece_counts(args.run)
    for low, high in BANDS:
        band = np.flatnonzero((counts >= low) & (counts < (high or np.inf)))
        shown = torch.from_numpy(band[band >= SPECIAL][:2000])  # 2,000 of each: a cosine matrix
        cosine, norm = mean_cosine(embeddings[shown]), embeddings[shown].norm(dim=1).mean()
        print(
            f"read {low}-{high or 'more'} times: {len(band):,} pieces, mean cosine "
            f"{cosine:.3f}, mean norm {norm:.3f}"
        )
    if args.redraw:
        minimum, out = int(args.redraw[0]), Path(args.redraw[1])
        rare = torch.from_numpy(np.flatnonzero(counts < minimum))
        rare = rare[rare != 0]  # [PAD] stays zero
        norm = embeddings[torch.from_numpy(np.flatnonzero(counts >= 50))].norm(dim=1).mean()
        fresh = torch.randn(
            len(rare), embeddings.shape[1], generator=torch.Generator().manual_seed(0)
        )
        embeddings = embeddings.clone()
        embeddings[rare] = fresh / fresh.norm(dim=1, keepdim=True) * norm
        weights[WORDS] = embeddings
        shutil.copytree(args.run / "model", out / "model", dirs_exist_ok=True)
        for name in ("config.yaml", "summary.json"):
            shutil.copy(args.run / name, out / name)
        save_file(weights, out / "model/model.safetensors")
        print(
            f"{out}: {len(rare):,} of {len(embeddings):,} embeddings drawn again at norm {norm:.3f}"
        )


if __name__ == "__main__":
    main()
