"""Meter ids from any column, exactly: the checked conversion adapters call.

A meter id is a key; taking one for another bills the wrong customer. Hence:

* integer ids keep their exact value in every container — a nullable integer
  column (pandas ``Int64``, polars, pyarrow, Snowflake ``NUMBER`` with a NULL)
  becomes Python ints and ``None``, never float64, which cannot tell
  ``2**53`` from ``2**53 + 1`` (18-digit meter codes are that large);
* ids of different kinds (``"1"`` and ``1``) in one column are refused with
  :class:`~energy_integral.errors.MeterIdError` rather than taken as two meters;
  :func:`~energy_integral.integrate_meters` refuses states keyed by another kind
  than the batch's in the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ._factorize import as_ids, factorize, id_kind, ids_kind, shared_strings

__all__ = ["id_kind", "ids_kind", "shared_strings", "to_ids"]


def to_ids(values: Any, name: str = "meter_ids") -> npt.NDArray[Any]:
    """``values`` as a 1-D numpy array of exact meter ids (``None`` where missing).

    Parameters
    ----------
    values : array_like
        A list, numpy array, or pandas, polars or pyarrow column of ids.
    name : str, optional
        The argument's name, used in error messages.

    Raises
    ------
    MeterIdError
        The ids mix kinds (strings and numbers).

    Examples
    --------
    >>> import pandas as pd
    >>> to_ids(pd.Series([2**53 + 1, None], dtype="Int64")).tolist()
    [9007199254740993, None]
    >>> to_ids(["1", 1])
    Traceback (most recent call last):
    ...
    energy_integral.errors.MeterIdError: meter_ids mixes ids of different types: '1' ...
    """
    ids = as_ids(values, name)
    if ids.dtype == object:
        factorize(ids, name)  # refuses ids of mixed kinds
    elif ids.dtype.kind not in "iufUSb":
        factorize(ids, name)  # refuses dtypes that are no ids, naming them
    return ids if ids.dtype != object else np.asarray(ids, dtype=object)
