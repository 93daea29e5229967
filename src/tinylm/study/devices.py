"""The devices of `tinylm study --devices cuda:0,cuda:1,...`: one job per device at a time.

A job of a kind that trains a network (JobKind.device: pre-training, fine-tuning) is placed on
a free device and runs there alone; jobs that need no device (corpus building, TF-IDF) run
beside them. A device may be named twice (`cpu,cpu`: two CPU jobs at once, each a slot of its
own); the slots are what placement hands out.
"""

from tinylm.errors import TinylmError


def parse_devices(spec: str) -> tuple[str, ...]:
    """`cuda:0,cuda:1` (or `cpu,cpu`) as a tuple of devices; refuses a device that is not
    `cpu` or `cuda[:N]`, and a CUDA device this machine does not have."""
    devices = tuple(part.strip() for part in spec.split(","))
    for device in devices:
        if device != "cpu" and device != "cuda" and not _cuda_index(device):
            raise TinylmError(
                f"--devices: {device!r} is not a device; name cpu or cuda:N, comma-separated "
                "(e.g. --devices cuda:0,cuda:1)"
            )
    cuda = [device for device in devices if device.startswith("cuda")]
    if cuda:
        import torch

        present = torch.cuda.device_count() if torch.cuda.is_available() else 0
        missing = [d for d in cuda if int(d.partition(":")[2] or 0) >= present]
        if missing:
            raise TinylmError(
                f"--devices: {', '.join(missing)} asked for, but this machine has "
                f"{present} CUDA device(s)"
            )
    return devices


def _cuda_index(device: str) -> bool:
    prefix, _, index = device.partition(":")
    return prefix == "cuda" and index.isdigit()


class DeviceSlots:
    """Which device slots are free: `take` hands out the lowest free one, `give` returns it."""

    def __init__(self, devices: tuple[str, ...]):
        self.devices = devices
        self.free = list(range(len(devices)))

    def take(self) -> int | None:
        return self.free.pop(0) if self.free else None

    def give(self, slot: int) -> None:
        self.free = sorted([*self.free, slot])
