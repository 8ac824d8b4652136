"""NumPy kernels for the forward pass (NCHW arrays). Imported only by the forward pass and the
benchmark: the analysis path never imports NumPy."""
from .conv import col_buffer_bytes, conv2d, geometry
from .dense import dense
from .pool import adaptive_avg_pool2d, avg_pool2d, global_avg_pool, global_max_pool, max_pool2d

__all__ = ["conv2d", "col_buffer_bytes", "geometry", "dense", "max_pool2d", "avg_pool2d", "global_avg_pool",
           "global_max_pool", "adaptive_avg_pool2d"]
