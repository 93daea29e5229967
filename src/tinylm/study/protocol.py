"""What a study is: the functions the runner calls, with defaults for what most studies lack.

A study module builds one `Study` (its STUDY) from its own functions, and registry.py lists
it. The runner calls only these fields:

    cells(factory, preset) -> [Cell]       one result row per cell, from its job's summary
    extra_jobs(factory, preset) -> [Job]   jobs no row stands for (a committee's timing)
    row_extras(cell, store) -> dict        the study's own figures of a cell's row
    extra_rows(factory, preset, rows, store) -> rows
                                           the rows as written: changed or added (committees)
    table(rows) -> markdown;  plot(rows, path, caption);  claims(rows) -> [Claim]
                                           from results.csv as read back
    defined_by(preset) -> bool             whether the preset sets what the study needs
    reuses_rows                            whether a row of the committed results.csv stands
                                           for its job where the store lacks it (runner.py)
    preset_lines(preset) -> [str]          its settings in the preset description of table.md
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tinylm.study.engine import Cell, Job, JobFactory, Store
from tinylm.study.presets import Preset
from tinylm.study.results import Claim


def no_jobs(factory: JobFactory, preset: Preset) -> list[Job]:
    return []


def no_extras(cell: Cell, store: Store) -> dict:
    return {}


def same_rows(factory: JobFactory, preset: Preset, rows: list[dict], store: Store) -> list[dict]:
    return rows


def every_preset(preset: Preset) -> bool:
    return True


def no_lines(preset: Preset) -> list[str]:
    return []


@dataclass(frozen=True)
class Study:
    name: str  # `tinylm study NAME`, and its folder under the output folder
    title: str  # table.md's heading
    cells: Callable[[JobFactory, Preset], list[Cell]]
    table: Callable[[list[dict]], str]
    plot: Callable[[list[dict], Path, str], None]
    claims: Callable[[list[dict]], list[Claim]]
    # its own results.csv columns, between the common head and tail (results.columns), and
    # which of them hold text
    columns: tuple[str, ...] = ()
    text_columns: frozenset[str] = frozenset()
    extra_jobs: Callable[[JobFactory, Preset], list[Job]] = no_jobs
    row_extras: Callable[[Cell, Store], dict] = no_extras
    extra_rows: Callable[[JobFactory, Preset, list[dict], Store], list[dict]] = same_rows
    # False where extra_rows reads every cell's outputs from the store (a committee scores
    # its members' test logits), so a row alone cannot stand for its job
    reuses_rows: bool = True
    defined_by: Callable[[Preset], bool] = every_preset
    needs: str = ""  # what a preset must define, said to a preset that does not
    preset_lines: Callable[[Preset], list[str]] = no_lines
