"""The committee study's claims: the paper's (a committee matches BERT-6, and answers faster)
and the search's (some cheaper model or committee keeps BERT-6's accuracy: chosen on
validation, its difference with BERT-6 read on test)."""

import math

import numpy as np

from tinylm.study.committee.analysis import MARGIN, VALIDATION, summarise
from tinylm.study.committee.members import NAME
from tinylm.study.results import Claim, verdict_from_sign
from tinylm.study.stats import fmt_interval, fmt_mean_std


def claims(rows: list[dict]) -> list[Claim]:
    out = []
    for task, data in summarise(rows).items():
        full, reference = data["full"], data["reference"]
        difference = data["full_vs_reference"]
        if difference.low > -MARGIN:
            verdict = "holds"
        elif difference.high < 0:
            verdict = "does not hold"
        else:
            verdict = "inconclusive"
        if math.isnan(difference.low):
            verdict = "inconclusive"
        out.append(
            Claim(
                NAME,
                f"A soft committee of {full['size']} BERT-1 variants matches BERT-6 ({task})",
                "0.866 against 0.866 on FewRel (Table 8)",
                f"committee {fmt_mean_std(full['accuracy'])}, reference "
                f"{fmt_mean_std(reference['accuracy'])}; difference {fmt_interval(difference)} "
                f"(matches: within {MARGIN:.2f} below)",
                verdict,
            )
        )
        if full["latency_ms"] is not None and reference["latency_ms"] is not None:
            faster = reference["latency_ms"] - full["latency_ms"]
            out.append(
                Claim(
                    NAME,
                    f"The committee answers faster than BERT-6 at batch 1 ({task})",
                    "lower latency (Table 8)",
                    f"{full['latency_ms']:.2f} ms in parallel "
                    f"({full['latency_ms_sequential']:.2f} sequential) against "
                    f"{reference['latency_ms']:.2f} ms, median of one run on this machine",
                    verdict_from_sign(int(np.sign(faster))),
                )
            )
        out.append(_search_claim(task, data))
    return out


def _search_claim(task: str, data: dict) -> Claim:
    """Beyond the paper: is some model or committee as accurate as the reference and faster?"""
    cheapest, reference = data["cheapest"], data["reference"]
    statement = f"A committee or shallow model keeps BERT-6's accuracy at lower latency ({task})"
    # the match is chosen on validation, then read on test (on test for older rows)
    chosen = (
        "chosen on validation"
        if data["chosen_on"] == VALIDATION
        else "chosen on test: rows predate validation selection"
    )
    if cheapest is None or reference["latency_ms"] is None:
        return Claim(
            NAME,
            statement,
            "(beyond the paper)",
            f"none within the margin ({chosen})",
            "does not hold",
        )
    difference = data["cheapest_vs_reference"]
    faster = cheapest["latency_ms"] < reference["latency_ms"]
    if not faster:
        verdict = "does not hold"
    elif difference.low > -MARGIN:
        verdict = "holds"
    else:
        verdict = "inconclusive"
    return Claim(
        NAME,
        statement,
        "(beyond the paper)",
        f"{cheapest['name']}: {fmt_mean_std(cheapest['accuracy'])} at "
        f"{cheapest['latency_ms']:.2f} ms against {fmt_mean_std(reference['accuracy'])} at "
        f"{reference['latency_ms']:.2f} ms; difference {fmt_interval(difference)} ({chosen})",
        verdict,
    )
