"""The reference code's procedure, rebuilt with `transformers` as it is built there.

Hugging Face's BertForMaskedLM (or BertForSequenceClassification) of the same size, every
sequence padded to 128, labels at every position so vocabulary logits are computed everywhere,
torch's AdamW, fp32 on a CPU and fp16 autocast with a gradient scaler on a GPU.
`transformers` is a test dependency of tinylm; the benchmarks need it installed.
"""

import torch

from tinylm.config import ModelConfig
from tinylm.errors import TinylmError

LENGTH = 128


def _transformers():
    try:
        import transformers
    except ImportError:
        raise TinylmError(
            "the reference procedure needs `transformers`: pip install 'tinylm[test]'"
        ) from None
    return transformers


def hf_config(arch: ModelConfig, **extra):
    return _transformers().BertConfig(
        vocab_size=arch.vocab_size,
        hidden_size=arch.hidden,
        num_hidden_layers=arch.layers,
        num_attention_heads=arch.heads,
        intermediate_size=arch.intermediate,
        max_position_embeddings=arch.max_length,
        hidden_dropout_prob=arch.dropout,
        attention_probs_dropout_prob=arch.attention_dropout,
        **extra,
    )


class ReferenceStep:
    """One optimizer step of the reference procedure on a batch already padded to 128."""

    def __init__(self, arch: ModelConfig, device: torch.device, num_labels: int | None = None):
        if arch.conv_layers:
            raise TinylmError("the reference procedure has no Hugging Face form for conv models")
        t = _transformers()
        if num_labels is None:
            self.model = t.BertForMaskedLM(hf_config(arch))
        else:
            self.model = t.BertForSequenceClassification(hf_config(arch, num_labels=num_labels))
        self.model.to(device).train()
        self.device = device
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=5e-5, weight_decay=0.01)
        self.scaler = torch.amp.GradScaler("cuda") if device.type == "cuda" else None

    def __call__(self, ids, mask, labels) -> None:
        ids, mask, labels = ids.to(self.device), mask.to(self.device), labels.to(self.device)
        if self.scaler is not None:
            with torch.autocast("cuda", dtype=torch.float16):
                loss = self.model(input_ids=ids, attention_mask=mask, labels=labels).loss
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)


def pad_to(tensor: torch.Tensor, value: int, length: int = LENGTH) -> torch.Tensor:
    """A (batch, positions) tensor padded with `value` to `length` positions, as the reference
    code pads every sequence."""
    return torch.nn.functional.pad(tensor, (0, length - tensor.shape[1]), value=value)
