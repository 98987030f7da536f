"""Hardware a fleet run places tests on: GPUs and host memory.

- :mod:`~testfleet.hardware.gpus` finds the machine's GPUs (``nvidia-smi``, else PyTorch if
  it is installed, or ``TESTFLEET_FAKE_GPUS`` for tests) and the host memory
  (``TESTFLEET_FAKE_MEMORY_GB``).
- :mod:`~testfleet.hardware.slots` decides which GPUs a worker slot sees by default (shared
  round-robin, or ``gpu_isolation = "exclusive"``) and what the slot advertises.
- :mod:`~testfleet.hardware.pool` is the scheduler's reservation book: which physical GPU
  shares and how much host memory the running tests hold (pure, no I/O).
- :mod:`~testfleet.hardware.worker` is the worker side: per-test ``CUDA_VISIBLE_DEVICES``
  and MPI-launched tests.
- :mod:`~testfleet.hardware.forksafety` tells whether the collector initialised a runtime
  that forked workers cannot use.
"""

from __future__ import annotations
