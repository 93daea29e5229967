"""Every study, by name, in the order `tinylm study all` runs them and report.md lists them.

A new study is a module that builds a `Study` (protocol.py) as its STUDY, and one entry here.
"""

from tinylm.study import budget, committee, gap, labels, overlap, source, ws
from tinylm.study.protocol import Study

STUDIES: dict[str, Study] = {
    study.name: study
    for study in (
        gap.STUDY,
        ws.STUDY,
        overlap.STUDY,
        committee.STUDY,
        budget.STUDY,
        source.STUDY,
        labels.STUDY,
    )
}
