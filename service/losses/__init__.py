"""The loss core: pure NumPy (and Pydantic parameter models), never HTTP.

Importing this package registers every loss: each family module registers its own.
"""

# Registration order is catalogue order.
from . import regression  # noqa: F401, I001  (registration side effect)
from . import binary  # noqa: F401
from . import margin  # noqa: F401
from . import multiclass  # noqa: F401
from . import similarity  # noqa: F401
from . import ranking  # noqa: F401
from . import metric  # noqa: F401
from . import probabilistic  # noqa: F401
from . import sequence  # noqa: F401
from .evaluate import LossResult, LossSpec, Options, evaluate
from .registry import definitions, get

__all__ = ["LossResult", "LossSpec", "Options", "definitions", "evaluate", "get"]
