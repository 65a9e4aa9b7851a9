"""Training code for the bundled daam-shapes model (see models/README.md)."""
import os

# Thread settings matter a lot on small shared CPUs: OpenBLAS' own spinning thread pool fights
# PyTorch's OpenMP pool (25x slowdowns measured). Must be set before torch is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
