"""Study `committee`: soft committees of shallow models against one deep model (Table 8).

Per task and seed, each member architecture (the paper's five BERT-1 variants, or their CPU
twins), each candidate (other shapes for the search for cheaper committees) and the reference
(BERT-6, or its twin) is pre-trained on Ws = preset.committee_ws and fine-tuned on the seed's
task sample, less a validation split (preset.committee_val_fraction of it). Every model's test
and validation logits are kept in its job folder (`test_logits.npy`, `val_logits.npy`), so the
soft committee of every subset of members and candidates is scored on both without running a
model again; the full committee is the members' (the paper's five). The best committee of each
size (and the search's cheapest match) is chosen on validation, then reported on test. A
`timing` job per task (on seed 0's models: latency does not depend on the weights) measures on
this machine the latency at batch 1 (p50, p90) of every model and committee, run sequentially
and in parallel, and the throughput at batch 32 of each model, of the paper's committee and of
the committee of all. FLOPs per example are analytic.

- members.py: the models each task and seed needs, and the subsets that make committees;
- timing.py: the timing jobs (a kind of job of their own) and what they measure;
- logits.py: each model's test and validation logits, kept in its job folder;
- rows.py: the models' rows with their timing, and one row per committee;
- analysis.py: the best committees (chosen on validation), the cheapest match and the Pareto
  fronts;
- table.py, plot.py, claims.py: what the study writes.
"""

from tinylm.study.committee import claims, members, plot, rows, table, timing
from tinylm.study.protocol import Study

STUDY = Study(
    name=members.NAME,
    title="Soft committees of shallow models against one deep model",
    cells=members.cells,
    table=table.table,
    plot=plot.plot,
    claims=claims.claims,
    # each model's or committee's members ("+"-joined; a model's own name), their number,
    # its accuracy on the validation split (the best committees are chosen by it) and the
    # split's size, and its timing
    columns=("members", "size", *rows.SELECTION_COLUMNS, *timing.COLUMNS),
    text_columns=frozenset({"members", "timed_on"}),
    extra_jobs=timing.timing_jobs,
    extra_rows=rows.extra_rows,
    reuse=rows.reuse,
    defined_by=members.defined_by,
    needs=members.NEEDS,
    preset_lines=members.preset_lines,
)
