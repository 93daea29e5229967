"""The CUDA paths: bf16 autocast against fp32, a GPU run against a CPU run, fused AdamW.

Each test skips without a CUDA device; `make gpu-check` (scripts/gpu_check.py) runs every
test marked `cuda`, NCCL's among them (test_distributed.py, with two devices or more)."""

import dataclasses

import pytest
import torch

from trainkit import pretrain_losses

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_bf16_and_fp32_loss_curves_agree_on_the_gpu(data_dir, cache_dir, tmp_path):
    """As on the CPU (test_distributed.py): bf16 autocast with fp32 master weights follows
    the fp32 curve within 1%."""
    cuda = ["--device", "cuda"]
    fp32 = pretrain_losses(tmp_path, data_dir, cache_dir, "fp32", *cuda, "--precision", "fp32")
    bf16 = pretrain_losses(tmp_path, data_dir, cache_dir, "bf16", *cuda, "--precision", "bf16")
    assert fp32[-1] < 0.6 * fp32[0]
    assert bf16 == pytest.approx(fp32, rel=0.01)


def test_a_gpu_run_follows_the_cpu_run(data_dir, cache_dir, tmp_path):
    """The same seeds draw the same masks and batches on either device (generators on the
    CPU): in fp32 only kernel summation orders differ."""
    fp32 = ["--precision", "fp32"]
    cpu = pretrain_losses(tmp_path, data_dir, cache_dir, "cpu", "--device", "cpu", *fp32)
    gpu = pretrain_losses(tmp_path, data_dir, cache_dir, "gpu", "--device", "cuda", *fp32)
    assert gpu == pytest.approx(cpu, rel=1e-3)


def test_fused_adamw_on_the_gpu_steps_like_the_reference_adamw():
    from tinylm.model.architectures import get_architecture
    from tinylm.model.bert import BertForMaskedLM
    from tinylm.train.config import TrainConfig
    from tinylm.train.runtime import build_optimizer

    torch.manual_seed(0)
    arch = dataclasses.replace(get_architecture("bert1-a3"), vocab_size=512)
    reference = BertForMaskedLM(arch)
    model = BertForMaskedLM(arch).cuda()
    model.load_state_dict(reference.state_dict())
    train = TrainConfig(lr=1e-3)
    fused = build_optimizer(model, train, torch.device("cuda"))
    assert fused.defaults["fused"]
    plain = torch.optim.AdamW(
        [
            {"params": g["params"], "weight_decay": g["weight_decay"]}
            for g in build_optimizer(reference, train, torch.device("meta")).param_groups
        ],
        lr=train.lr,
        foreach=False,
    )
    for step in range(3):
        generator = torch.Generator().manual_seed(step)
        for a, b in zip(reference.parameters(), model.parameters(), strict=True):
            grad = torch.randn(a.shape, generator=generator)
            a.grad, b.grad = grad, grad.cuda()
        plain.step()
        fused.step()
    for (name, a), b in zip(reference.named_parameters(), model.parameters(), strict=True):
        assert torch.allclose(a, b.cpu(), rtol=1e-5, atol=1e-6), name
