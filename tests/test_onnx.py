"""ONNX exports: a plain and a conv classifier, and a two-member committee as one graph, give
PyTorch's probabilities within 1e-4 in ONNX Runtime on batches of other sizes and lengths than
the traced one; `predict --engine onnx` answers as the torch engine does; `bench latency
--engine onnx` reports both engines; bad input is refused in one line. Tiny random models."""

import json
import sys

import numpy as np
import pytest
import torch

from tinylm.cli import main
from tinylm.config import ModelConfig
from tinylm.export.committee import combine
from tinylm.model.bert import BertForMaskedLM, BertForSequenceClassification
from tinylm.tokenizer import load_tokenizer
from tinylm.train.batches import pad

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
TOLERANCE = 1e-4
LABELS = ["World", "Sports", "Business", "Sci/Tech"]
TEXTS = [
    "the war minister won the election",
    "a goal in the league match",
    "stock profit and shares",
    "chip",
    "the internet software of the city market and the film bridge by the river",
]


def tiny_config(data_dir, *, conv: bool) -> ModelConfig:
    vocab = load_tokenizer(data_dir).vocab_size
    fields = {"layers": 1, "heads": 2, "hidden": 32, "intermediate": 64, "vocab_size": vocab}
    if conv:  # an even kernel (as the paper's 16x3) pads asymmetrically
        fields.update(conv_layers=2, conv_channels=4, conv_kernel=(4, 3))
    return ModelConfig(max_length=64, **fields)


def make_classifier(folder, data_dir, seed: int, *, conv: bool, pooling: str = "cls"):
    """A random classifier saved as a run folder's model/. Its head is scaled up, so its
    probabilities are far from uniform (a fresh model's are all near 1/4, which would let a
    wrong graph pass), and a conv model's BatchNorm gets running statistics away from 0 and 1,
    so evaluation mode matters."""
    torch.manual_seed(seed)
    model = BertForSequenceClassification(tiny_config(data_dir, conv=conv), 4, LABELS, pooling)
    torch.nn.init.normal_(model.classifier.weight, std=1.0)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    model.save_pretrained(folder / "model")
    return model.eval()


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def batch(data_dir, texts):
    """A padded batch of `texts`: 5 rows, lengths 3 to 17 (the export traced 2 x 16)."""
    tokenizer = load_tokenizer(data_dir)
    return pad([np.array(ids) for ids in tokenizer.encode_batch(texts)], tokenizer.pad_id)


def run_onnx(path, ids, mask) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]


@pytest.mark.parametrize(
    "conv, pooling", [(False, "cls"), (True, "cls"), (True, "mean")], ids=["plain", "conv", "mean"]
)
def test_a_classifier_exports_and_matches_pytorch(conv, pooling, capsys, tmp_path, data_dir):
    model = make_classifier(tmp_path / "run", data_dir, 0, conv=conv, pooling=pooling)
    out = tmp_path / "model.onnx"
    code, stdout, err = cli(
        capsys, "export", tmp_path / "run", "--onnx", out, "--data-dir", data_dir
    )
    assert code == 0, err
    assert "wrote a classifier" in stdout and out.is_file()

    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    inputs = {i.name: i for i in session.get_inputs()}
    assert set(inputs) == {"input_ids", "attention_mask"}
    assert all(i.type == "tensor(int64)" and len(i.shape) == 2 for i in inputs.values())
    assert all(isinstance(axis, str) for i in inputs.values() for axis in i.shape)  # dynamic
    metadata = session.get_modelmeta().custom_metadata_map
    assert json.loads(metadata["label_names"]) == LABELS
    assert int(metadata["max_length"]) == 64 and metadata["output"] == "probabilities"

    ids, mask = batch(data_dir, TEXTS)
    assert ids.shape[0] == 5 and ids.shape[1] != 16 and not mask.all()
    with torch.no_grad():
        expected = model(ids, mask).logits.softmax(-1).numpy()
    got = run_onnx(out, ids, mask)
    assert got.shape == (5, 4)
    assert np.abs(got - expected).max() <= TOLERANCE
    # one text alone, at its own length
    ids, mask = batch(data_dir, TEXTS[3:4])
    with torch.no_grad():
        expected = model(ids, mask).logits.softmax(-1).numpy()
    assert np.abs(run_onnx(out, ids, mask) - expected).max() <= TOLERANCE


def test_a_committee_exports_as_one_graph(capsys, tmp_path, data_dir):
    members = [
        make_classifier(tmp_path / "m0", data_dir, 0, conv=True),
        make_classifier(tmp_path / "m1", data_dir, 1, conv=False),
    ]
    out = tmp_path / "committee.onnx"
    code, stdout, err = cli(
        capsys, "export", "--members", tmp_path / "m0", tmp_path / "m1", "--onnx", out,
        "--data-dir", data_dir,
    )  # fmt: skip
    assert code == 0, err
    assert "a committee of 2" in stdout

    ids, mask = batch(data_dir, TEXTS)
    with torch.no_grad():
        logits = torch.stack([m(ids, mask).logits for m in members])
    expected = combine(logits, "soft").numpy()
    got = run_onnx(out, ids, mask)
    assert np.abs(got - expected).max() <= TOLERANCE
    # the members really differ, so the graph holds both (not one member twice)
    singles = logits.softmax(-1).numpy()
    assert min(np.abs(got - single).max() for single in singles) > 100 * TOLERANCE
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    listed = json.loads(session.get_modelmeta().custom_metadata_map["members"])
    assert [m["name"] for m in listed] == [str(tmp_path / "m0"), str(tmp_path / "m1")]


def test_predict_with_onnx_answers_as_torch(capsys, tmp_path, data_dir):
    make_classifier(tmp_path / "run", data_dir, 2, conv=True)
    out = tmp_path / "model.onnx"
    assert cli(capsys, "export", tmp_path / "run", "--onnx", out, "--data-dir", data_dir)[0] == 0

    def predict(*options):
        code, stdout, err = cli(capsys, "predict", *options, *TEXTS, "--json")
        assert code == 0, err
        return [json.loads(line) for line in stdout.splitlines()]

    torch_rows = predict(tmp_path / "run", "--data-dir", data_dir)
    # no --data-dir: the export carries its tokenizer
    onnx_rows = predict(out, "--engine", "onnx")
    assert predict(out) == onnx_rows  # an .onnx file needs no --engine
    assert len(onnx_rows) == len(torch_rows) == len(TEXTS)
    for ours, theirs in zip(onnx_rows, torch_rows, strict=True):
        assert ours["text"] == theirs["text"] and ours["label"] == theirs["label"]
        assert list(ours["probabilities"]) == LABELS == list(theirs["probabilities"])
        for label in LABELS:
            assert ours["probabilities"][label] == pytest.approx(
                theirs["probabilities"][label], abs=TOLERANCE
            )
    # the plain format too: label and text columns equal
    code, stdout, _ = cli(capsys, "predict", out, "--engine", "onnx", *TEXTS)
    assert code == 0
    lines = [line.split("\t") for line in stdout.splitlines()]
    assert [(line[0], line[2]) for line in lines] == [(r["label"], r["text"]) for r in torch_rows]


def test_a_failed_check_writes_nothing(monkeypatch, capsys, tmp_path, data_dir):
    import tinylm.export.onnx as onnx_module

    make_classifier(tmp_path / "run", data_dir, 0, conv=False)
    monkeypatch.setattr(onnx_module, "max_difference", lambda *args: 0.5)
    out = tmp_path / "out" / "model.onnx"
    code, stdout, err = cli(
        capsys, "export", tmp_path / "run", "--onnx", out, "--data-dir", data_dir
    )
    assert code == 2
    assert err.count("\n") == 1 and "differ from PyTorch's by 5.00e-01" in err
    assert not out.exists() and not list(tmp_path.glob("out/*"))  # nor a temporary


def test_bad_input_is_refused_in_one_line(capsys, tmp_path, data_dir):
    def refused(*argv, says: str):
        code, stdout, err = cli(capsys, *argv)
        assert code == 2 and err.count("\n") == 1 and says in err, err
        assert "Traceback" not in err

    out = tmp_path / "model.onnx"
    refused("predict", tmp_path / "missing.onnx", "--engine", "onnx", "a text", says="missing")
    refused("predict", tmp_path, "--engine", "onnx", "a text", says="a folder")
    (tmp_path / "garbage.onnx").write_bytes(b"not a model")
    refused("predict", tmp_path / "garbage.onnx", "--engine", "onnx", "text", says="cannot load")
    refused("predict", tmp_path / "garbage.onnx", "text", says="cannot load")  # engine: onnx
    refused("predict", tmp_path / "garbage.onnx", "--engine", "torch", "t", says="an ONNX export")
    refused("export", tmp_path / "nothing", "--onnx", out, says="no tinylm model")
    torch.manual_seed(0)
    BertForMaskedLM(tiny_config(data_dir, conv=False)).save_pretrained(tmp_path / "mlm")
    refused(
        "export", tmp_path / "mlm", "--onnx", out, "--data-dir", data_dir, says="not a classifier"
    )
    refused("export", "--members", tmp_path / "mlm", "--hf", tmp_path / "hf", says="only --onnx")
    assert not out.exists()


def test_a_missing_onnx_package_names_the_extra(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    (tmp_path / "model.onnx").write_bytes(b"")
    code, stdout, err = cli(capsys, "predict", tmp_path / "model.onnx", "--engine", "onnx", "x")
    assert code == 2 and "pip install 'tinylm[onnx]'" in err and err.count("\n") == 1


def test_bench_latency_with_onnx_reports_both_engines(capsys, tmp_path, data_dir):
    for seed, conv in enumerate((False, True)):
        make_classifier(tmp_path / f"m{seed}", data_dir, seed, conv=conv)
    code, stdout, err = cli(
        capsys, "bench", "latency", "--members", tmp_path / "m0" / "model",
        tmp_path / "m1" / "model", "--engine", "onnx", "--examples", 3, "--batches", 1,
        "--data-dir", data_dir, "--json",
    )  # fmt: skip
    assert code == 0, err
    r = json.loads(stdout)
    assert set(r["committee"]) == {"sequential", "parallel"}  # PyTorch's, as without --engine
    onnx = r["onnx"]["committee"]
    assert 0 < onnx["p50_ms"] <= onnx["p90_ms"] and onnx["throughput_per_s"] > 0
    assert r["onnx"]["max_difference"] <= TOLERANCE
    assert set(r["onnx_speedup"]) == {"committee (sequential)", "committee (parallel)"}
    for mode, ratio in r["onnx_speedup"].items():
        torch_figures = r["committee"][mode.removeprefix("committee (").removesuffix(")")]
        assert ratio["batch1_p50"] == pytest.approx(torch_figures["p50_ms"] / onnx["p50_ms"])
        assert ratio["batch32_throughput"] == pytest.approx(
            onnx["throughput_per_s"] / torch_figures["throughput_per_s"]
        )


def test_bench_latency_with_onnx_times_one_model_beside_torch(capsys, tmp_path, data_dir):
    make_classifier(tmp_path / "m", data_dir, 0, conv=True)
    code, stdout, err = cli(
        capsys, "bench", "latency", "--members", tmp_path / "m" / "model", "--engine", "onnx",
        "--examples", 3, "--batches", 1, "--data-dir", data_dir, "--json",
    )  # fmt: skip
    assert code == 0, err
    r = json.loads(stdout)
    name = str(tmp_path / "m" / "model")
    assert set(r["onnx"]["models"]) == set(r["models"]) == set(r["onnx_speedup"]) == {name}
    assert "committee" not in r and "committee" not in r["onnx"]
    onnx, torch_figures = r["onnx"]["models"][name], r["models"][name]
    assert 0 < onnx["p50_ms"] <= onnx["p90_ms"] and onnx["throughput_per_s"] > 0
    assert r["onnx_speedup"][name]["batch1_p50"] == pytest.approx(
        torch_figures["p50_ms"] / onnx["p50_ms"]
    )
    assert "onnx_int8" not in r


def test_bench_latency_times_the_int8_form_too(capsys, tmp_path, data_dir):
    make_classifier(tmp_path / "m", data_dir, 0, conv=True)
    argv = ["bench", "latency", "--members", tmp_path / "m" / "model", "--examples", 3]
    argv += ["--batches", 1, "--threads", 1, "--data-dir", data_dir]
    code, stdout, err = cli(capsys, *argv, "--engine", "onnx", "--quantize", "int8", "--json")
    assert code == 0, err
    r = json.loads(stdout)
    name = str(tmp_path / "m" / "model")
    int8, torch_figures = r["onnx_int8"]["models"][name], r["models"][name]
    assert r["threads"] == 1 and set(r["onnx"]["models"]) == {name}
    assert 0 < int8["p50_ms"] <= int8["p90_ms"] and int8["throughput_per_s"] > 0
    assert r["onnx_int8_speedup"][name]["batch32_throughput"] == pytest.approx(
        int8["throughput_per_s"] / torch_figures["throughput_per_s"]
    )
    code, stdout, err = cli(capsys, *argv, "--engine", "onnx", "--quantize", "int8")
    assert code == 0 and "onnx int8" in stdout and "ONNX Runtime int8's" in stdout
    code, _, err = cli(capsys, *argv, "--quantize", "int8")
    assert code == 2 and "add --engine onnx" in err


def test_int8_export_agrees_with_pytorch_on_most_of_a_sample(capsys, tmp_path, data_dir):
    """`--quantize int8`: a smaller file that predicts as PyTorch does on most texts; a run
    folder's test sample is scored in both forms (a ledger read), the figures in its metadata."""
    model = make_classifier(tmp_path / "run", data_dir, 0, conv=True, pooling="mean")
    out, plain = tmp_path / "int8.onnx", tmp_path / "fp32.onnx"
    assert cli(capsys, "export", tmp_path / "run", "--onnx", plain, "--data-dir", data_dir)[0] == 0
    code, stdout, err = cli(
        capsys, "export", tmp_path / "run", "--onnx", out, "--quantize", "int8",
        "--data-dir", data_dir,
    )  # fmt: skip
    assert code == 0, err
    assert (
        "in int8" in stdout and out.stat().st_size < 0.8 * plain.stat().st_size
    )  # tiny matrices: less than 4x
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert session.get_modelmeta().custom_metadata_map["quantization"].startswith("int8")
    ids, mask = batch(data_dir, TEXTS * 4)
    with torch.no_grad():
        expected = model(ids, mask).logits.softmax(-1).numpy()
    got = run_onnx(out, ids, mask)
    assert (got.argmax(1) == expected.argmax(1)).mean() >= 0.8
    assert np.abs(got - expected).max() < 0.1

    (tmp_path / "run" / "config.yaml").write_text(
        "task: {name: agnews, train_per_label: 5, test_per_label: 5, seed: 0}\n"
    )
    code, stdout, err = cli(
        capsys, "export", tmp_path / "run", "--onnx", out, "--quantize", "int8",
        "--data-dir", data_dir,
    )  # fmt: skip
    assert code == 0, err
    assert "on the run's agnews test sample (20 texts)" in stdout and "agree on" in stdout
    check = json.loads(
        ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        .get_modelmeta()
        .custom_metadata_map["check"]
    )
    assert check["n"] == 20 and 0.8 <= check["agreement"] <= 1
    ledger = (tmp_path / "test-ledger.jsonl").read_text()  # the store beside the run
    assert "export-int8" in ledger
    code, _, err = cli(
        capsys, "export", tmp_path / "run", "--hf", tmp_path / "hf", "--quantize", "int8"
    )
    assert code == 2 and "--quantize makes an ONNX file" in err
