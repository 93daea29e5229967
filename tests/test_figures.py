"""Figures generated, not typed (study/figures.py): every figure README.md and docs/findings.md
quote from the studies, and every study's table in table.md, is what the committed results.csv
files give; and the rewriting of a block keeps the text around it."""

from pathlib import Path

import pytest

from tinylm.errors import TinylmError
from tinylm.study.figures import (
    DOCUMENTS,
    Results,
    after_study,
    block,
    generate,
    rewrite,
    rewrite_documents,
    rewrite_tables,
)
from tinylm.study.registry import STUDIES
from tinylm.study.results import columns, write_rows

ROOT = Path(__file__).resolve().parent.parent
HOW = "rebuild them with `tinylm study report` (docs/studies.md, generated figures)"


@pytest.fixture(scope="module")
def committed() -> Results:
    """The committed results, each file read (and each study summarised) once for the tests."""
    return Results(ROOT / "results")


@pytest.mark.parametrize("name", DOCUMENTS)
def test_documents_quote_the_committed_results(committed, name):
    text = (ROOT / name).read_text(encoding="utf-8")
    assert "<!-- figures: " in text, f"{name} quotes no generated figure"
    assert rewrite(text, committed, name) == text, f"{name}'s figures differ from results: {HOW}"


def test_tables_are_the_committed_results(committed):
    tables = sorted((ROOT / "results").glob("*/*/table.md"))
    assert tables
    for path in tables:
        text = path.read_text(encoding="utf-8")
        where = str(path.relative_to(ROOT))
        assert rewrite(text, committed, where) == text, f"{where} differs from results: {HOW}"


def gap_rows(accuracies: dict[str, list[float]], task: str = "agnews") -> list[dict]:
    """A gap study's rows for one task: each arm's accuracy per seed."""
    rows = []
    for arm, values in accuracies.items():
        for seed, accuracy in enumerate(values):
            rows.append(
                {
                    "study": "gap",
                    "preset": "tiny",
                    "task": task,
                    "arm": arm,
                    "ws": 500 if arm == "pretrained" else None,
                    "seed": seed,
                    "test_accuracy": accuracy,
                    "test_macro_f1": accuracy,
                    "labels": 4,
                    "train_examples": 40,
                    "test_examples": 80,
                }
            )
    return rows


@pytest.fixture
def out(tmp_path) -> Path:
    """An output folder with a gap study's results.csv, beside a docs folder: a repository."""
    results = tmp_path / "results"
    rows = gap_rows(
        {"pretrained": [0.70, 0.72, 0.74], "scratch": [0.60, 0.61, 0.65], "tfidf": [0.8] * 3}
    )
    write_rows(results / "gap" / "tiny" / "results.csv", rows, columns(STUDIES["gap"].columns))
    return results


def test_a_block_is_replaced_and_the_text_around_it_kept(out):
    text = (
        "# Title\n\nBefore, gaps of <!-- figures: gap/tiny gaps -->stale<!-- /figures -->, after.\n"
        "\n<!-- figures: gap/tiny arms -->\n| old |\n<!-- /figures -->\n\nThe end.\n"
    )
    new = rewrite(text, Results(out))
    gaps = "**+0.100 [+0.075, +0.125] (AG News)** over three seeds"
    assert new.startswith(f"# Title\n\nBefore, gaps of <!-- figures: gap/tiny gaps -->{gaps}")
    assert "<!-- /figures -->, after.\n\n<!-- figures: gap/tiny arms -->\n\n| task |" in new
    assert "| AG News | 0.720 ± 0.020 | 0.620 ± 0.026 | **+0.100 [+0.075, +0.125]** |" in new
    assert new.endswith("|\n\n<!-- /figures -->\n\nThe end.\n")
    assert rewrite(new, Results(out)) == new  # a rewritten file is stable


def test_the_figures_follow_the_results(out):
    """A figure says what the rows say: here TF-IDF trails, and one seed loses."""
    rows = gap_rows(
        {"pretrained": [0.70, 0.60, 0.74], "scratch": [0.60, 0.61, 0.65], "tfidf": [0.5] * 3}
    )
    path = out / "gap" / "tiny" / "results.csv"
    write_rows(path, rows, columns(STUDIES["gap"].columns))
    results = Results(out)
    assert generate("gap/tiny wins", results) == "two of three seeds and tasks"
    assert generate("gap/tiny tfidf", results) == (
        "trails the pre-trained arm by 18 points and trails the arm from scratch by 12 points"
    )


def test_an_unknown_block_is_a_clear_error(out):
    with pytest.raises(
        TinylmError,
        match=r"notes\.md, line 3: unknown figures block 'gap/tiny "
        r"nonsense'; known: gap/PRESET table, gaps, .*",
    ):
        rewrite(
            "a\nb\nsee <!-- figures: gap/tiny nonsense -->x<!-- /figures -->\n",
            Results(out),
            "notes.md",
        )
    with pytest.raises(TinylmError, match=r"unknown figures block 'nostudy/tiny gaps'"):
        generate("nostudy/tiny gaps", Results(out))
    with pytest.raises(TinylmError, match=r"'gap/tiny gaps 2M 3': its arguments are \[SPLIT\]"):
        generate("gap/tiny gaps 2M 3", Results(out))


def test_a_missing_results_file_is_a_clear_error(out):
    text = "Gaps of <!-- figures: gap/cpu gaps -->x<!-- /figures -->.\n"
    with pytest.raises(TinylmError) as error:
        rewrite(text, Results(out), "README.md")
    message = str(error.value)
    assert message.startswith("README.md, line 1: figures block 'gap/cpu gaps': ")
    assert message.endswith(f"{out / 'gap' / 'cpu' / 'results.csv'} does not exist")


def test_a_block_must_be_closed_and_may_not_start_a_line(out):
    with pytest.raises(TinylmError, match="not closed"):
        rewrite("a <!-- figures: gap/tiny gaps -->x\n", Results(out))
    with pytest.raises(TinylmError, match="not closed"):
        rewrite("a x<!-- /figures -->\n", Results(out))
    # Markdown would read a line that starts with the comment as raw HTML: no bold, no paragraph
    with pytest.raises(TinylmError, match="line 2: block 'gap/tiny gaps' lies within a line"):
        rewrite("a\n  <!-- figures: gap/tiny gaps -->x<!-- /figures --> b\n", Results(out))
    with pytest.raises(TinylmError, match="lies within a line"):  # a table on one line
        rewrite("a <!-- figures: gap/tiny arms -->x<!-- /figures -->\n", Results(out))


def test_report_rewrites_the_documents_beside_the_output_folder(out):
    readme = out.parent / "README.md"
    readme.write_text("Gaps: <!-- figures: gap/tiny gaps -->old<!-- /figures -->.\n")
    assert not (out.parent / "docs").exists()  # a missing document is skipped
    assert rewrite_documents(out) == [readme]
    assert "old" not in readme.read_text()
    assert rewrite_documents(out) == []  # nothing changes twice
    assert sorted(p.name for p in out.parent.iterdir()) == ["README.md", "results"]  # no temporary


def test_a_study_run_warns_where_report_would_fail(out):
    """`study all` rewrites the documents after each study: one quoted later is not there yet."""
    readme = out.parent / "README.md"
    readme.write_text("<!-- figures: budget/tiny gaps -->\n\nx\n\n<!-- /figures -->\n")
    said = []
    after_study(out, said.append)
    assert said == [
        "warning: the figures the documents quote were not rewritten: README.md, line 1: "
        f"figures block 'budget/tiny gaps': {out / 'budget' / 'tiny' / 'results.csv'} does not "
        "exist"
    ]
    with pytest.raises(TinylmError, match="does not exist"):
        rewrite_documents(out)  # what `tinylm study report` calls


def test_report_rewrites_a_tables_block_and_leaves_older_tables(out):
    folder = out / "gap" / "tiny"
    table = folder / "table.md"
    head = "# The pre-training gap (preset `tiny`)\n\nProduced by `tinylm study gap` at x.\n\n"
    table.write_text(head + block("gap/tiny table", "old") + "\n\n![gap](gap.png)\n")
    assert rewrite_tables(out) == [table]  # no plot beside it: none drawn
    text = table.read_text()
    assert text.startswith(head + "<!-- figures: gap/tiny table -->\n\nTest accuracy")
    assert "| agnews |" in text and text.endswith("<!-- /figures -->\n\n![gap](gap.png)\n")
    older = "# A table written before tables were blocks\n"
    table.write_text(older)
    assert rewrite_tables(out) == []
    assert table.read_text() == older


def test_a_table_printed_for_a_terminal_shows_its_figures_without_markers():
    from tinylm.study.figures import unmarked

    text = "# Title\n\n" + block("gap/tiny table", "| a |\n|---|\n| 1 |") + "\n\n![gap](gap.png)\n"
    assert unmarked(text) == "# Title\n\n| a |\n|---|\n| 1 |\n\n![gap](gap.png)\n"
    phrase = "gaps of <!-- figures: gap/cpu gaps -->+0.084<!-- /figures --> over five seeds"
    assert unmarked(phrase) == "gaps of +0.084 over five seeds"
