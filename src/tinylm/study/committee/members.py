"""The committee study's models: per task and seed, each member, candidate and the reference,
pre-trained on Ws = preset.committee_ws and fine-tuned on the seed's task sample, less the
validation split of preset.committee_val_fraction (on which the best committees are chosen)."""

import itertools

from tinylm.study.engine import Cell, JobFactory
from tinylm.study.presets import Preset, describe_changes

NAME = "committee"  # the study's name, in its rows and claims
NEEDS = "committee_members and committee_reference"


def defined_by(preset: Preset) -> bool:
    return bool(preset.committee_members) and preset.committee_reference is not None


def short(arch: str) -> str:
    """A member's name in tables: the architecture without its family and `-cpu` suffix."""
    return arch.removeprefix("bert1-").removesuffix("-cpu")


def member_cells(factory: JobFactory, preset: Preset, task: str, seed: int) -> list[Cell]:
    ws = preset.committee_ws or preset.gap_ws
    out = []
    archs = [("member", a) for a in preset.committee_members]
    archs += [("candidate", a) for a in preset.committee_candidates]
    archs += [("reference", preset.committee_reference)]
    for arm, arch in archs:
        changes = preset.committee_pretrain
        if arm == "reference":
            changes = {**changes, **preset.committee_reference_pretrain}
        pretrained = factory.pretrain(ws, seed, arch, changes=changes)
        out.append(
            Cell(
                {"task": task, "seed": seed, "arm": arm, "arch": arch, "ws": ws},
                factory.finetune(
                    task,
                    seed,
                    pretrained,
                    arch,
                    changes=preset.committee_finetune,
                    val_fraction=preset.committee_val_fraction,
                ),
            )
        )
    return out


def cells(factory: JobFactory, preset: Preset) -> list[Cell]:
    return [
        cell
        for task in preset.tasks
        for seed in range(preset.seeds)
        for cell in member_cells(factory, preset, task, seed)
    ]


def subsets(names: list[str]) -> list[tuple[str, ...]]:
    """Every non-empty subset of the members, by size, in member order."""
    return [
        combo for size in range(1, len(names) + 1) for combo in itertools.combinations(names, size)
    ]


def preset_lines(preset: Preset) -> list[str]:
    candidates = preset.committee_candidates
    changes, reference = preset.committee_pretrain, preset.committee_reference_pretrain
    tuning = preset.committee_finetune
    return [
        f"- committee study: members {', '.join(preset.committee_members)}"
        + (f"; candidates {', '.join(candidates)}" if candidates else "")
        + f"; reference {preset.committee_reference}; Ws = "
        f"{preset.committee_ws or preset.gap_ws:,}"
        + (f"; pre-training: {describe_changes(changes)}" if changes else "")
        + (f"; the reference: {describe_changes(reference)}" if reference else "")
        + (f"; fine-tuning: {describe_changes(tuning)}" if tuning else "")
        + (
            f"; validation: {preset.committee_val_fraction:.0%} of each train sample, on which "
            "the best committees are chosen"
            if preset.committee_val_fraction
            else ""
        )
    ]
