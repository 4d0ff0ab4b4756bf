"""vecadd: element-wise addition on a CUDA device, with a CPU fallback.

The wheel's extension module holds the kernel as SASS for each GPU
architecture it was built for and PTX for newer ones; the CUDA runtime is
linked in statically, so only the NVIDIA driver (libcuda.so.1) is needed at
run time, and without it (or without a GPU) add() runs on the CPU.
"""

from vecadd._native import add, backend, cuda_runtime_version, device_status

__all__ = ["add", "backend", "cuda_runtime_version", "device_status"]
