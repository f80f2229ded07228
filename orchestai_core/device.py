"""Which device trains and plans: the one rule for `auto` (cuda, then mps, then cpu), and the devices
this machine offers, for the trainer, the `Planner` and the Train page alike."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Device:
    """A device a run can use, as the Train page offers it."""

    name: str    # auto | cpu | cuda:N | mps
    label: str


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def available_devices() -> list[Device]:
    """auto and cpu always; each CUDA device with its name and memory; Apple's mps when present."""
    devices = [Device("auto", "auto (best available)"), Device("cpu", "cpu")]
    for index in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):
        props = torch.cuda.get_device_properties(index)
        devices.append(Device(f"cuda:{index}", f"cuda:{index} · {props.name} · {props.total_memory / 2**30:.1f} GiB"))
    if _mps_available():
        devices.append(Device("mps", "mps (Apple GPU)"))
    return devices


def device_key(name: str | None) -> str | None:
    """One name per device: `cuda` is `cuda:0`."""
    return "cuda:0" if name == "cuda" else name


def resolve_device(name: str = "auto") -> str:
    """The concrete device a name stands for on this machine: `auto` is cuda:0, then mps, then cpu."""
    if name != "auto":
        return device_key(name)
    if torch.cuda.is_available():
        return "cuda:0"
    return "mps" if _mps_available() else "cpu"


def pick_device(name: str = "auto") -> torch.device:
    """The torch device of `name` (see `resolve_device`); a named device must exist (ValueError)."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available")
    if name == "mps" and not _mps_available():
        raise ValueError("device 'mps' requested but it is not available")
    return torch.device(resolve_device(name))


def native_bf16(device: torch.device) -> bool:
    """Whether `device` is a CPU that multiplies bfloat16 matrices natively (AVX512-BF16 or AMX, by torch's own
    checks; a torch without them answers no), where a bfloat16 pass of the encoder costs about 0.6 of a float32
    one. GPUs answer no: they encode fast in float32 already, and some only emulate bfloat16."""
    if device.type != "cpu":
        return False
    checks = (getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    return any(check is not None and check() for check in checks)
