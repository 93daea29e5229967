"""ONNX exports of classifiers and whole committees, checked against PyTorch in ONNX Runtime.

The graph takes `input_ids` and `attention_mask` (int64, batch x sequence, both axes dynamic,
the sequence up to the model's max_length) and gives `probabilities` (batch x labels, float32):
the softmax of the logits, and for a committee the mean of its members' softmax probabilities
(the paper's soft committee, committee.py's "soft"), computed inside the one graph. One output
for both, and probabilities rather than logits, because a committee has no logits of its own:
a deployment reads every export the same way, and `tinylm predict` prints the same numbers
from either engine.

The file describes itself in its metadata (`metadata_props`): `label_names` (JSON),
`max_length`, `pad_id`, `output` ("probabilities"), `members` (JSON: name and architecture of
each), `tinylm_version`, and `tokenizer` (the tokenizers library's JSON of the WordPiece
pipeline), so `tinylm predict --engine onnx FILE` needs no other file.

Every export is run in ONNX Runtime on two random batches (the traced one and one of another
batch size and length, padding included) and compared with PyTorch: a largest difference above
TOLERANCE refuses the export, and nothing is written. The file is written atomically.

onnx, onnxruntime and onnxscript (the exporter's) are the `onnx` extra, imported only here.
"""

import contextlib
import importlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tinylm import __version__
from tinylm.data.token_cache import TokenizedTexts
from tinylm.errors import TinylmError
from tinylm.export.committee import check_members, combine
from tinylm.files import atomic_open
from tinylm.model.bert import BertForSequenceClassification
from tinylm.tokenizer import Tokenizer, tokenizer_from_json
from tinylm.train.evaluation import in_length_order

INPUTS = ("input_ids", "attention_mask")
OUTPUT = "probabilities"
TOLERANCE = 1e-4  # the largest difference from PyTorch's probabilities an export may show
INSTALL = "pip install 'tinylm[onnx]'"


def require(name: str):
    """An optional dependency of the `onnx` extra, or a message saying how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise TinylmError(f"ONNX export and inference need {name}: {INSTALL}") from None


class SoftCommittee(nn.Module):
    """The exported computation: the mean of the members' softmax probabilities (one member:
    its probabilities)."""

    def __init__(self, members: list[BertForSequenceClassification]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, input_ids, attention_mask):
        logits = torch.stack([m(input_ids, attention_mask).logits for m in self.members])
        return combine(logits, "soft")


def build_onnx(
    members: dict[str, BertForSequenceClassification], tokenizer: Tokenizer | None = None
) -> tuple[bytes, float]:
    """The serialized ONNX model of `members` (one: a classifier; several: their committee),
    checked against PyTorch in ONNX Runtime, and the largest difference found. `tokenizer`,
    when given, is stored in it."""
    for name in ("onnx", "onnxscript", "onnxruntime"):
        require(name)
    import onnx

    others = [n for n, m in members.items() if not isinstance(m, BertForSequenceClassification)]
    if others:
        raise TinylmError(f"only classifiers are exported to ONNX, not {', '.join(others)}")
    check_members(members)
    models = list(members.values())
    if len({m.config.vocab_size for m in models}) > 1:
        raise TinylmError("members have different vocabularies; they cannot share the input")
    graph = SoftCommittee(models).eval()
    max_length = min(m.config.max_length for m in models)
    traced, other = check_batches(models)
    proto = _export(graph, traced, max_length)
    metadata = {
        "label_names": json.dumps(models[0].label_names),
        "max_length": str(max_length),
        # what a deployment pads with: the ids of padded positions reach the conv front-ends
        "pad_id": str(models[0].config.pad_id if tokenizer is None else tokenizer.pad_id),
        "output": OUTPUT,
        "members": json.dumps(
            [{"name": n, "architecture": m.config.to_dict()} for n, m in members.items()]
        ),
        "tinylm_version": __version__,
    }
    if tokenizer is not None:
        metadata["tokenizer"] = tokenizer.to_json()
    onnx.helper.set_model_props(proto, metadata)
    data = proto.SerializeToString()
    difference = max_difference(graph, OnnxClassifier(data), [traced, other])
    if not difference <= TOLERANCE:  # NaN refuses too
        raise TinylmError(
            f"the ONNX graph's probabilities differ from PyTorch's by {difference:.2e} "
            f"(more than {TOLERANCE:g}); nothing was written"
        )
    return data, difference


def _export(graph: nn.Module, sample: tuple[torch.Tensor, torch.Tensor], max_length: int):
    """The graph as an onnx.ModelProto with dynamic batch and sequence axes.

    torch.onnx's default exporter (dynamo=True, through torch.export and onnxscript): it exports
    every architecture here, conv front-ends (Conv2d, BatchNorm2d in eval mode, the asymmetric
    padding of even kernels) included, with both axes dynamic, and its outputs match PyTorch's
    within 1e-5 (most within 1e-6) on batches of other shapes than the traced one. The
    TorchScript exporter (dynamo=False) gives equal graphs, but it is deprecated since PyTorch
    2.9 and warns on every call (an error under the tests' warning filter)."""
    batch = torch.export.Dim("batch")
    sequence = torch.export.Dim("sequence", max=max_length)
    axes = {0: batch, 1: sequence}
    with _quiet():
        program = torch.onnx.export(
            graph,
            sample,
            dynamo=True,
            input_names=list(INPUTS),
            output_names=[OUTPUT],
            dynamic_shapes={name: axes for name in INPUTS},
            verbose=False,
        )
        return program.model_proto


@contextlib.contextmanager
def _quiet():
    """The exporter's chatter (missing torchvision operators, renamed axes, deprecations inside
    torch) says nothing about the user's model: silenced; real failures still raise."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def check_batches(models: list[BertForSequenceClassification]) -> list[tuple]:
    """The two batches an export is traced on and checked with: 2 x 16 tokens (traced) and
    3 x 37, each with a padded row, within the models' max_length."""
    vocab, max_length = models[0].config.vocab_size, min(m.config.max_length for m in models)
    return [
        sample_batch(vocab, 2, min(16, max_length), seed=0),
        sample_batch(vocab, 3, min(37, max_length), seed=1),
    ]


def sample_batch(
    vocab_size: int, batch: int, length: int, *, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random ids with [PAD]-like padding in the last row (half its length), as `pad` makes."""
    g = torch.Generator().manual_seed(seed)
    low = min(1000, vocab_size // 2)  # above the special tokens of a BERT vocabulary
    ids = torch.randint(low, vocab_size, (batch, length), generator=g)
    mask = torch.ones_like(ids)
    mask[-1, max(2, length // 2) :] = 0
    ids[mask == 0] = 0
    return ids, mask


@torch.no_grad()
def max_difference(graph: nn.Module, onnx_model: "OnnxClassifier", batches) -> float:
    """The largest absolute difference of the two engines' outputs over `batches`."""
    differences = []
    for ids, mask in batches:
        expected = graph(ids, mask).numpy()
        differences.append(float(np.max(np.abs(onnx_model(ids, mask) - expected))))
    return max(differences)


QUANTIZATIONS = ("int8",)


def quantize_int8(data: bytes) -> bytes:
    """The model with its weights in int8 (ONNX Runtime's dynamic quantization: activations
    quantized on the fly, per batch), about a quarter of the size; its metadata is kept and
    says so (`quantization`)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="tinylm-int8-") as folder:
        source, target = Path(folder) / "fp32.onnx", Path(folder) / "int8.onnx"
        source.write_bytes(data)
        root = logging.getLogger()  # it advises pre-processing on the root logger
        level = root.level
        root.setLevel(logging.ERROR)
        try:
            with _quiet():
                quantize_dynamic(source, target, weight_type=QuantType.QInt8)
        finally:
            root.setLevel(level)
        return with_metadata(target.read_bytes(), quantization="int8 (dynamic, weights QInt8)")


def with_metadata(data: bytes, **entries: str) -> bytes:
    """The serialized model with `entries` added to (or replacing) its metadata."""
    import onnx

    proto = onnx.load_from_string(data)
    kept = {p.key: p.value for p in proto.metadata_props if p.key not in entries}
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, {**kept, **entries})
    return proto.SerializeToString()


def write_onnx(data: bytes, path: str | os.PathLike) -> Path:
    path = Path(path)
    with atomic_open(path, text=False) as f:
        f.write(data)
    return path


def export_onnx(
    members: dict[str, BertForSequenceClassification],
    path: str | os.PathLike,
    tokenizer: Tokenizer | None = None,
    quantize: str | None = None,
    check=None,
) -> dict:
    """Writes the checked ONNX model of `members` to `path` (see build_onnx); what was written.
    `quantize="int8"`: its int8 form (quantize_int8), whose largest difference from PyTorch on
    the check batches is reported, not bounded; `check(onnx_model) -> dict`, when given, scores
    it before it is written, and its figures go into the metadata (`check`) and the report."""
    data, difference = build_onnx(members, tokenizer)
    report = {"max_difference": difference, "fp32_megabytes": len(data) / 2**20}
    if quantize is not None:
        if quantize not in QUANTIZATIONS:
            raise TinylmError(f"unknown quantization {quantize!r}; known: {QUANTIZATIONS}")
        data = quantize_int8(data)
        models = list(members.values())
        graph = SoftCommittee(models).eval()
        report["max_difference"] = max_difference(
            graph, OnnxClassifier(data), check_batches(models)
        )
    if check is not None:
        report["check"] = check(OnnxClassifier(data))
        data = with_metadata(data, check=json.dumps(report["check"]))
    return {
        "path": str(write_onnx(data, path)),
        "members": list(members),
        "label_names": next(iter(members.values())).label_names,
        "quantization": quantize,
        "megabytes": len(data) / 2**20,
        **report,
    }


class OnnxClassifier:
    """An exported classifier or committee in ONNX Runtime, with its metadata."""

    def __init__(self, source: str | os.PathLike | bytes, threads: int | None = None):
        ort = require("onnxruntime")
        if not isinstance(source, bytes):
            path = Path(source)
            if not path.is_file():
                what = "a folder, not an .onnx file" if path.is_dir() else "missing"
                raise TinylmError(f"{path} is {what} (`tinylm export RUN --onnx FILE` makes one)")
            source = str(path)
        options = ort.SessionOptions()
        # as many threads as PyTorch uses, so the engines are compared on equal terms
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        # No busy-waiting between calls (ONNX Runtime's default): spinning threads would take
        # the cores from whatever runs next, PyTorch's turn in `bench latency` among others.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only
        try:
            self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        except Exception as err:  # ORT's own message says what is wrong with the file
            raise TinylmError(f"cannot load the ONNX model: {_first_line(err)}") from None
        self.metadata = self.session.get_modelmeta().custom_metadata_map
        inputs = sorted(i.name for i in self.session.get_inputs())
        if "label_names" not in self.metadata or inputs != sorted(INPUTS):
            raise TinylmError(
                "not a tinylm ONNX export (no label_names, or inputs other than "
                f"{' and '.join(INPUTS)})"
            )
        self.label_names = json.loads(self.metadata["label_names"])
        self.max_length = int(self.metadata["max_length"])
        self.pad_id = int(self.metadata.get("pad_id", 0))

    def __call__(self, ids, mask) -> np.ndarray:
        """Probabilities (batch, labels) of a padded batch (tensors or arrays)."""
        feed = {
            "input_ids": np.asarray(ids, np.int64),
            "attention_mask": np.asarray(mask, np.int64),
        }
        return self.session.run([OUTPUT], feed)[0]

    def tokenizer(self, fallback=None) -> Tokenizer:
        """The stored tokenizer, truncating to the model's max_length; without one,
        `fallback()` (a data directory's)."""
        if "tokenizer" in self.metadata:
            return tokenizer_from_json(self.metadata["tokenizer"], self.max_length)
        if fallback is None:
            raise TinylmError("this ONNX export carries no tokenizer")
        return fallback(self.max_length)

    def probabilities(
        self, tokens: TokenizedTexts, pad_id: int | None = None, batch_size: int = 64
    ) -> torch.Tensor:
        """(n, labels) in the order of `tokens`, batched as PyTorch's predict_logits batches
        (padded with `pad_id`, default the stored one)."""
        return in_length_order(
            self,
            tokens,
            pad_id=self.pad_id if pad_id is None else pad_id,
            width=len(self.label_names),
            batch_size=batch_size,
        )


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]
