"""What a study is: the functions the runner calls, with defaults for what most studies lack.

A study module builds one `Study` (its STUDY) from its own functions, and registry.py lists
it. The runner calls only these fields:

    cells(factory, preset) -> [Cell]       one result row per cell, from its job's summary
    extra_jobs(factory, preset) -> [Job]   jobs no row stands for (a committee's timing)
    row_extras(cell, store) -> dict        the study's own figures of a cell's row
    extra_rows(factory, preset, rows, store, previous) -> rows
                                           the rows as written: changed or added (committees);
                                           `previous`: the rows of the existing results.csv
    table(rows) -> markdown;  plot(rows, path, caption);  claims(rows) -> [Claim]
                                           from results.csv as read back
    defined_by(preset) -> bool             whether the preset sets what the study needs
    reuse(cells, found, previous) -> found which of the rows of the existing results.csv
                                           found for cells whose jobs the store lacks may
                                           stand in for them (runner.py): all of them, or
                                           a committee's members of one task and seed only
                                           together and with their committees' rows
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


def same_rows(
    factory: JobFactory, preset: Preset, rows: list[dict], store: Store, previous: list[dict]
) -> list[dict]:
    return rows


def every_match(cells: list[Cell], found: list, previous: list[dict]) -> list:
    return found


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
    extra_rows: Callable[[JobFactory, Preset, list[dict], Store, list[dict]], list[dict]] = (
        same_rows
    )
    # Where extra_rows reads several cells' outputs from the store (a committee scores its
    # members' test logits), those cells are reused all or none: either every job is in the
    # store, or every row (and what extra_rows derived from them) comes from results.csv.
    reuse: Callable[[list[Cell], list, list[dict]], list] = every_match
    defined_by: Callable[[Preset], bool] = every_preset
    needs: str = ""  # what a preset must define, said to a preset that does not
    preset_lines: Callable[[Preset], list[str]] = no_lines
