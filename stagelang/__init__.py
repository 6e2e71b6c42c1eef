"""stagelang: executable definitions of lifecycle stages for revenue operations.

>>> import stagelang
>>> policy = stagelang.load("policies/japan.stage")      # doctest: +SKIP
>>> policy.check({"lifecycle_stage": "mql", "icp_fit": True}).conforms  # doctest: +SKIP
False
"""

from stagelang.diagnostics import Diagnostic, Severity, Span
from stagelang.errors import PolicyError, PolicyFileError, RecordError, StagelangError
from stagelang.policy import Policy, check_source, load, loads
from stagelang.verdicts import Unmet, Verdict

__version__ = "0.1.0"

__all__ = [
    "Diagnostic",
    "Policy",
    "PolicyError",
    "PolicyFileError",
    "RecordError",
    "Severity",
    "Span",
    "StagelangError",
    "Unmet",
    "Verdict",
    "__version__",
    "check_source",
    "load",
    "loads",
]
