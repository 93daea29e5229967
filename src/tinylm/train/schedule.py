"""The learning rate as a pure function of the optimizer step (no scheduler state to save).

- `linear`: linear warm-up over `warmup_steps`, then linear decay to zero at `total_steps`.
  Warm-up starts at lr / warmup_steps, never at 0.
- `paper`: the reference code's schedule, stepped per epoch (the rate is constant within an
  epoch), without its defect: with one warm-up epoch stepped per epoch, its first epoch ran
  at lr 0. Here epoch e runs at lr x min((e + 1) / W, (E - e) / (E - W)) for W warm-up
  epochs out of E, and at lr x (E - e) / E without warm-up.
- `constant`: lr throughout.
"""

SCHEDULES = ("linear", "paper", "constant")


def learning_rate(
    step: int,
    *,
    lr: float,
    schedule: str,
    total_steps: int,
    steps_per_epoch: int,
    warmup_epochs: float = 0.0,
) -> float:
    """The rate of optimizer step `step` (0-based) of `total_steps`."""
    if schedule == "constant":
        return lr
    if schedule == "linear":
        warmup = round(warmup_epochs * steps_per_epoch)
        if step < warmup:
            return lr * (step + 1) / warmup
        return lr * max(0.0, (total_steps - step) / max(1, total_steps - warmup))
    if schedule == "paper":
        epochs = -(-total_steps // steps_per_epoch)  # ceil
        epoch, warmup = step // steps_per_epoch, warmup_epochs
        decay = (epochs - epoch) / max(1e-9, epochs - warmup)
        return lr * (min((epoch + 1) / warmup, decay) if warmup > 0 else decay)
    raise ValueError(f"unknown schedule {schedule!r}; known: {', '.join(SCHEDULES)}")
