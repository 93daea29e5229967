"""The command line: exit codes, messages, --json output, on tiny data made here."""

import json
import subprocess
import sys

import pytest

from tinylm import __version__
from tinylm.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"tinylm {__version__}"


def test_data_check_on_a_complete_tiny_directory(capsys, data_dir):
    # the tiny files cannot hold the paper's default samples: the verdict says so, exit 2
    code, out, err = run(capsys, "data", "check", "--data-dir", str(data_dir), "--json")
    report = json.loads(out)
    assert code == 2 and not report["usable"]
    assert "agnews" in err and "1000 train" in err
    files = report["datasets"]["agnews"]["files"]
    assert files["ag_news/train.csv"]["rows"] == 120 and files["ag_news/test.csv"]["rows"] == 80
    assert files["ag_news/train.csv"]["per_label"] == {
        "World": 30,
        "Sports": 30,
        "Business": 30,
        "Sci/Tech": 30,
    }
    wiki = report["datasets"]["wikipedia"]["files"]["wikipedia/paragraphs.jsonl.gz"]
    assert (wiki["paragraphs"], wiki["articles"], wiki["lead_paragraphs"]) == (200, 40, 40)
    assert report["datasets"]["fewrel"]["status"] == "missing"
    assert report["datasets"]["dbpedia"]["status"] == "substitute"


def test_data_check_passes_when_default_samples_fit(capsys, tmp_path):
    from datagen import make_data_dir

    big = make_data_dir(
        tmp_path / "big", agnews_train=1000, agnews_test=1001, fewrel_per_relation=700
    )
    # dbpedia's default is 100 per label; the tiny subsets hold 12: give it official files
    from datagen import write_csv

    rows = [[str(c), "", f"official {i} of {c}"] for i in range(100) for c in (1, 2, 3)]
    write_csv(big / "dbpedia/train.csv", rows)
    write_csv(big / "dbpedia/test.csv", [[r[0], "", "test " + r[2]] for r in rows])
    code, out, err = run(capsys, "data", "check", "--data-dir", str(big))
    assert code == 0, err
    assert "result: usable for the default studies (tasks: agnews, dbpedia, fewrel-val)" in out
    assert "fewrel-val  complete" not in out  # 3 relations, not the official 16
    assert "fewrel-val  partial" in out


def test_data_check_reads_the_environment_variable(capsys, data_dir, monkeypatch):
    monkeypatch.setenv("TINYLM_DATA_DIR", str(data_dir))
    code, out, _ = run(capsys, "data", "check")
    assert f"data directory: {data_dir}" in out


def test_missing_data_directory(capsys, tmp_path):
    code, _, err = run(capsys, "data", "check")  # nothing named, and no default folder
    assert code == 2 and "no data:" in err and "TINYLM_DATA_DIR=DIR" in err
    assert "`tinylm data fetch`" in err
    code, _, err = run(capsys, "data", "check", "--data-dir", str(tmp_path / "nowhere"))
    assert code == 2 and "nowhere does not exist" in err


def test_data_check_names_a_missing_file(capsys, data_dir):
    (data_dir / "tokenizer/bert-base-uncased-vocab.txt").unlink()
    code, out, err = run(capsys, "data", "check", "--data-dir", str(data_dir))
    assert code == 2 and "tokenizer: " in err and "bert-base-uncased-vocab.txt is missing" in err


def test_data_corpus_json_and_cache(capsys, data_dir, cache_dir):
    argv = [
        "data",
        "corpus",
        "--data-dir",
        str(data_dir),
        "--cache-dir",
        str(cache_dir),
        "--ws",
        "50",
        "--json",
        "--quiet",
    ]
    code, out, _ = run(capsys, *argv)
    first = json.loads(out)
    assert code == 0 and first["ws"] == 50 and first["paragraphs"] == 200
    assert first["cache_hit"] is False and first["tokens"] > 50 * 20
    code, out, _ = run(capsys, *argv)
    assert json.loads(out)["cache_hit"] is True
    assert json.loads(out)["tokens"] == first["tokens"]


def test_data_corpus_ws_too_large(capsys, data_dir, cache_dir):
    code, _, err = run(
        capsys,
        "data",
        "corpus",
        "--data-dir",
        str(data_dir),
        "--cache-dir",
        str(cache_dir),
        "--ws",
        "500",
        "--quiet",
    )
    assert code == 2 and "ws = 500 is larger than the pool" in err


def test_data_corpus_negative_ws_is_refused_before_work(capsys, data_dir):
    code, _, err = run(capsys, "data", "corpus", "--data-dir", str(data_dir), "--ws", "-3")
    assert code == 2 and "ws: must be a positive number" in err


def test_data_task_json_and_out(capsys, data_dir, cache_dir, tmp_path):
    code, out, err = run(
        capsys,
        "data",
        "task",
        "agnews",
        "--data-dir",
        str(data_dir),
        "--cache-dir",
        str(cache_dir),
        "--train-per-label",
        "10",
        "--test-per-label",
        "5",
        "--val-fraction",
        "0.2",
        "--json",
        "--quiet",
        "--out",
        str(tmp_path / "sample"),
    )
    summary = json.loads(out)
    assert code == 0, err
    assert summary["sizes"] == {"train": 32, "val": 8, "test": 20}
    assert summary["labels"] == ["World", "Sports", "Business", "Sci/Tech"]
    assert all(v > 3 for v in summary["mean_tokens"].values())
    written = sorted(p.name for p in (tmp_path / "sample").iterdir())
    assert written == ["config.yaml", "labels.json", "test.jsonl", "train.jsonl", "val.jsonl"]


def test_data_task_user_file_without_data_dir(capsys, tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("text,label\n" + "".join(f"t{i},{i % 2}\n" for i in range(10)))
    code, out, err = run(capsys, "data", "task", str(path), "--json")
    assert code == 0, err
    assert json.loads(out)["sizes"] == {"train": 8, "val": 0, "test": 2}


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"sentence,category\nx,1\n", "no column 'text', 'label'"),
        (b"text,label\n\xff\xfe,1\n", "invalid UTF-8 at line 2"),
        (b"text,label\na,1\nb,1\nc,2\n", "label '2' has 1 example"),
    ],
)
def test_data_task_bad_files(capsys, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    code, out, err = run(
        capsys, "data", "task", str(path), "--train-per-label", "1", "--test-per-label", "1"
    )
    assert code == 2 and message in err and "Traceback" not in err


def test_unknown_task_exits_2(capsys, data_dir):
    code, _, err = run(capsys, "data", "task", "imdb", "--data-dir", str(data_dir))
    assert code == 2 and "unknown task 'imdb'" in err


def test_tokenize_json(capsys, data_dir):
    code, out, _ = run(capsys, "tokenize", "the river", "--data-dir", str(data_dir), "--json")
    record = json.loads(out)
    assert record["tokens"] == ["[CLS]", "the", "river", "[SEP]"]
    assert record["ids"][0] == 101 and record["ids"][-1] == 102


def test_fetch_offline_fails_fast_without_writing(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, _, err = run(capsys, "data", "fetch", "--data-dir", str(tmp_path / "new"))
    assert code == 2 and "internet" in err
    assert not (tmp_path / "new").exists()


def test_fetch_without_target(capsys):
    code, _, err = run(capsys, "data", "fetch")
    assert code == 2 and "--data-dir" in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["data", "corpus", "--ws", "many"])
    assert exit_.value.code == 2


def test_console_entry_point_prints_no_traceback(tmp_path):
    """The real process: message on stderr, exit 2, no traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "tinylm", "data", "task", "agnews", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"tinylm: error: the data folder {tmp_path} lacks ")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_ctrl_c_names_the_command_that_goes_on(capsys, data_dir, tmp_path, monkeypatch):
    import shlex

    import tinylm.train.pretrain

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tinylm.train.pretrain, "pretrain", stop)
    argv = ["pretrain", "--ws", "96", "--data-dir", str(data_dir), "--out", str(tmp_path / "a b")]
    code, _, err = run(capsys, *argv)
    assert code == 130 and "Traceback" not in err
    message, command = err.strip().split(": ", 2)[1:]
    assert message == "interrupted; continue from the last checkpoint"
    assert shlex.split(command) == ["tinylm", *argv, "--resume"]  # quoted: "a b" stays one
    code, _, err = run(capsys, *argv, "--resume")  # not twice
    assert err.strip().endswith(shlex.join(["tinylm", *argv, "--resume"]))


def test_ctrl_c_in_a_study_says_a_rerun_goes_on(capsys, monkeypatch):
    import tinylm.cli.study

    def stop(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(tinylm.cli.study, "run_study_command", stop)
    code, _, err = run(capsys, "study", "gap", "--preset", "smoke")
    assert code == 130 and "run the same command again" in err and "Traceback" not in err
