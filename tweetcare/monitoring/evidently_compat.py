"""Evidently 0.7 under pandas 3: the one name it imports that pandas 3 removed, put back.

`evidently.legacy.tests.data_integrity_tests` imports `infer_dtype_from_object` from
`pandas.core.dtypes.common` at import time (pandas 3 dropped it), so `import evidently` fails
before any report runs. Only that legacy column-type test calls it, which the monitor does not
use; the stand-in gives the same answer (the dtype's scalar type) for the calls it would make.
Import Evidently through this module; delete it once Evidently supports pandas 3.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandas.core.dtypes.common as _pandas_common

if not hasattr(_pandas_common, "infer_dtype_from_object"):

    def _infer_dtype_from_object(dtype: Any) -> type:
        return pd.api.types.pandas_dtype(dtype).type

    _pandas_common.infer_dtype_from_object = _infer_dtype_from_object  # type: ignore[attr-defined]

from evidently import DataDefinition, Dataset, Report
from evidently.metrics import MissingValueCount, ValueDrift

__all__ = ["DataDefinition", "Dataset", "MissingValueCount", "Report", "ValueDrift"]
