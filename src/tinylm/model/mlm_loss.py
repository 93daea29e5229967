"""The masked-LM loss over a large vocabulary, fused: projection, softmax and cross-entropy in
chunks of rows, with the backward written out.

With bert-base-uncased's 30,522 words, the projection of the masked tokens onto the vocabulary
and the cross-entropy after it were half of the small twins' training step. Done by
`F.linear` then `F.cross_entropy`, the logits pass through memory several times (the fp32
copy, log-softmax, its output, a dense gradient of the same size, its backward). Here each
chunk's logits become its softmax in place, kept (in the training precision) for the backward,
which turns them into the logits' gradient in place: two passes fewer over the largest tensor
of the step, each in a chunk small enough to stay in cache. Under bf16 autocast the tied
embedding is cast once per step (and reused by the backward), the products run in bf16 and
the loss is summed in fp32. The loss and gradients equal the plain ones within the precision's
rounding (tests/test_mlm_loss.py): 1e-5 in fp32.
"""

import torch

ROWS_PER_CHUNK = 128  # of masked tokens: 128 x 30,522 fp32 logits are 16 MB


def masked_lm_loss(
    hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """The mean cross-entropy of `targets` under `hidden @ weight.T + bias`: (n, hidden),
    (vocab, hidden), (vocab,), (n,) -> a scalar. Under autocast, at its precision."""
    device = hidden.device.type
    if torch.is_autocast_enabled(device):
        dtype = torch.get_autocast_dtype(device)
    else:
        dtype = torch.promote_types(hidden.dtype, weight.dtype)
    return _FusedCrossEntropy.apply(hidden, weight, bias, targets, dtype)


class _FusedCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, bias, targets, dtype):
        with torch.autocast(hidden.device.type, enabled=False):
            h, w, b = hidden.to(dtype), weight.to(dtype), bias.to(dtype)  # w: the one cast
            total = torch.zeros((), dtype=torch.float32, device=hidden.device)
            probabilities = []
            for start in range(0, len(h), ROWS_PER_CHUNK):
                rows = slice(start, start + ROWS_PER_CHUNK)
                logits = torch.addmm(b, h[rows], w.t()).float()
                logsumexp = torch.logsumexp(logits, -1)
                total += (logsumexp - logits.gather(1, targets[rows, None]).squeeze(1)).sum()
                probabilities.append(logits.sub_(logsumexp[:, None]).exp_().to(dtype))
        ctx.save_for_backward(h, w, targets)
        ctx.probabilities = probabilities
        ctx.dtypes = (hidden.dtype, weight.dtype, bias.dtype)
        return total / len(h)

    @staticmethod
    def backward(ctx, grad):
        h, w, targets = ctx.saved_tensors
        probabilities, ctx.probabilities = ctx.probabilities, None  # turned into gradients
        scale = (grad / len(h)).to(h.dtype)
        grad_h = torch.empty_like(h)
        grad_w = torch.zeros(w.shape, dtype=torch.float32, device=w.device)
        grad_b = torch.zeros(w.shape[0], dtype=torch.float32, device=w.device)
        with torch.autocast(h.device.type, enabled=False):
            for chunk, start in zip(probabilities, range(0, len(h), ROWS_PER_CHUNK), strict=True):
                rows = slice(start, start + ROWS_PER_CHUNK)
                # d loss / d logits = (softmax - one-hot) / n, in place of the softmax
                chunk[torch.arange(len(chunk), device=chunk.device), targets[rows]] -= 1
                chunk.mul_(scale)
                grad_h[rows] = chunk @ w
                if chunk.dtype == torch.float32:
                    grad_w.addmm_(chunk.t(), h[rows])
                else:  # bf16 products, summed over chunks in fp32
                    grad_w += (chunk.t() @ h[rows]).float()
                grad_b += chunk.sum(0, dtype=torch.float32)
        hidden_dtype, weight_dtype, bias_dtype = ctx.dtypes
        return (
            grad_h.to(hidden_dtype),
            grad_w.to(weight_dtype),
            grad_b.to(bias_dtype),
            None,
            None,
        )
