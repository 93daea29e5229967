"""Committees of classifiers: several fine-tuned models vote on each text.

Three ways to combine the members' logits (members, texts, labels):
- `soft` (the paper's soft committee): the mean of the members' probabilities, then arg-max;
- `logit`: the mean of the members' logits, then arg-max;
- `hard`: a majority vote of the members' arg-max labels; ties go to the label of larger mean
  probability.
Members run `sequential` (one after another) or `parallel` (at once, a Python thread each: PyTorch
releases the GIL inside its operations); both give the same logits. A member may also come as its
logits alone (`given`: a linear TF-IDF member's log-probabilities, say): it votes and is scored,
but is neither timed nor counted in FLOPs.
"""

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from tinylm.data.token_cache import TokenizedTexts
from tinylm.errors import TinylmError
from tinylm.model.accounting import forward_flops_per_token
from tinylm.train.evaluation import predict_logits

COMBINERS = ("soft", "logit", "hard")


def check_members(members: dict) -> None:
    """Refuses a committee whose members do not classify into the same labels."""
    if not members:
        raise TinylmError("a committee needs at least one member")
    names = iter(members)
    first = next(names)
    labels = members[first].label_names
    for name in names:
        if members[name].label_names != labels:
            raise TinylmError(
                f"members {first} and {name} have different label sets: "
                f"{_short(labels)} against {_short(members[name].label_names)}"
            )


def _short(labels: list[str]) -> str:
    return "[" + ", ".join(labels[:4]) + (", ...]" if len(labels) > 4 else "]")


def combine(logits: torch.Tensor, how: str = "soft") -> torch.Tensor:
    """Scores (texts, labels) whose arg-max is the committee's label."""
    if how == "soft":
        return logits.float().softmax(-1).mean(0)
    if how == "logit":
        return logits.float().mean(0)
    if how == "hard":
        labels = logits.shape[-1]
        votes = torch.nn.functional.one_hot(logits.argmax(-1), labels).sum(0).float()
        # mean probabilities are below 1, so they only break ties between equal vote counts
        return votes + 0.5 * combine(logits, "soft")
    raise ValueError(f"unknown combiner {how!r}; known: {', '.join(COMBINERS)}")


def member_logits(
    members: list, tokens: TokenizedTexts, *, pad_id: int, parallel: bool = False
) -> torch.Tensor:
    """Each member's logits on the texts: (members, texts, labels)."""

    def run(model):
        return predict_logits(model, tokens, pad_id=pad_id, device=torch.device("cpu"))

    if parallel and len(members) > 1:
        with ThreadPoolExecutor(max_workers=len(members)) as pool:
            return torch.stack(list(pool.map(run, members)))
    return torch.stack([run(model) for model in members])


def flops_per_example(members: list, mean_tokens: float) -> float:
    """Forward FLOPs of the whole committee for one text of `mean_tokens` tokens."""
    length = max(1, math.ceil(mean_tokens))
    return float(
        sum(
            mean_tokens * sum(forward_flops_per_token(model.config, length, 0.0).values())
            for model in members
        )
    )


def evaluate_committee(
    members: dict,
    tokens: TokenizedTexts,
    labels,
    *,
    pad_id: int,
    given: dict[str, torch.Tensor] | None = None,
) -> dict:
    """Accuracy of each member and of the committee by each combiner, and the networks' forward
    FLOPs per example. `given`: members by their logits (texts, labels), after the networks.
    (How fast the committee runs is bench/latency.py's `committee_latency`.)"""
    check_members(members)
    given = given or {}
    models = [model.eval() for model in members.values()]
    truth = torch.as_tensor(np.asarray(labels))
    logits = member_logits(models, tokens, pad_id=pad_id)
    for name, scores in given.items():
        if tuple(scores.shape) != tuple(logits.shape[1:]):
            raise TinylmError(
                f"member {name}: logits of shape {tuple(scores.shape)}, the networks' are "
                f"{tuple(logits.shape[1:])}"
            )
    logits = torch.cat([logits.float(), *(scores.float()[None] for scores in given.values())])
    return {
        "members": [*members, *given],
        "n": len(truth),
        "accuracy": _accuracy(combine(logits, "soft"), truth),
        **{f"accuracy_{how}": _accuracy(combine(logits, how), truth) for how in COMBINERS},
        "member_accuracies": [_accuracy(member, truth) for member in logits],
        "mean_tokens": float(tokens.lengths.mean()),
        "flops_per_example": flops_per_example(models, float(tokens.lengths.mean())),
    }


def _accuracy(scores: torch.Tensor, truth: torch.Tensor) -> float:
    return float((scores.argmax(-1) == truth).float().mean())
