"""Where torch runs: :func:`resolve_device` turns ``--device`` text into a ``torch.device`` or a clear error."""

from __future__ import annotations

import torch

from motionlib.errors import ParameterError


def resolve_device(device: str | torch.device) -> torch.device:
    """``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"`` -> ``torch.device``, checked against this machine.

    A GPU that torch cannot see is a :class:`ParameterError` naming what is missing, not a
    traceback from the first tensor moved there.
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ParameterError(f"--device {device!r} is not a device torch knows; use cpu, cuda, cuda:N or mps") from err
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ParameterError(f"--device {device}: torch sees no CUDA GPU on this machine "
                                 f"(torch {torch.__version__}, CUDA build {torch.version.cuda or 'none'}); "
                                 "use --device cpu")
        if dev.index is not None and dev.index >= count:
            raise ParameterError(f"--device {device}: this machine has {count} CUDA GPU(s), "
                                 f"numbered 0 to {count - 1}")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ParameterError(f"--device {device}: the Apple MPS backend is not available here; use --device cpu")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise ParameterError(f"--device {device}: motionlib runs on cpu, cuda or mps, not {dev.type}")
    return dev
