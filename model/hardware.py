"""Which device this process will train on, said without initialising CUDA here.

A worker records its device before it trains anything. Asking torch for the name
(torch.cuda.get_device_name) initialises CUDA in the process, and CUDA 12 creates the primary
context with it: some 500 MiB held on the run's GPU by a worker that may stay idle for the whole
sweep -- and, for a torchrun run, on the GPU its rank 0 needs. The driver's management library
(NVML, the one nvidia-smi uses) gives the name without a context; torch.cuda.is_available()
only asks the driver for a device count.
"""

from __future__ import annotations

import ctypes
import os


def _nvml_name(device: str) -> str | None:
    """Name of `device` (an index or a GPU-... UUID as in CUDA_VISIBLE_DEVICES), or None."""
    try:
        nvml = ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return None
    if nvml.nvmlInit_v2() != 0:
        return None
    try:
        handle = ctypes.c_void_p()
        if device.isdigit():
            found = nvml.nvmlDeviceGetHandleByIndex_v2(ctypes.c_uint(int(device)), ctypes.byref(handle))
        else:
            found = nvml.nvmlDeviceGetHandleByUUID(device.encode(), ctypes.byref(handle))
        name = ctypes.create_string_buffer(96)  # NVML_DEVICE_NAME_V2_BUFFER_SIZE
        if found != 0 or nvml.nvmlDeviceGetName(handle, name, ctypes.c_uint(96)) != 0:
            return None
        return name.value.decode(errors="replace")
    finally:
        nvml.nvmlShutdown()


def device_label(threads: int) -> str:
    """'cuda:3 NVIDIA H200' (CUDA_VISIBLE_DEVICES and the first one's name; 'cuda:0,1 ...' for a
    multi-GPU slot, as the worker has always written it), else 'cpu x{threads}'. Creates no CUDA
    context. (NVML numbers GPUs in PCI order: set CUDA_DEVICE_ORDER=PCI_BUS_ID, as torchrun
    users usually do, for the index to name the same GPU as CUDA's.)"""
    import torch

    if not torch.cuda.is_available():
        return f"cpu x{threads}"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "0")
    name = _nvml_name(visible.split(",")[0].strip() or "0")
    return f"cuda:{visible} {name}" if name else f"cuda:{visible}"
