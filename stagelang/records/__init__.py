"""Records: the typed values a policy is checked against, and (later) readers for exports."""

from stagelang.records.typed import value_fits, wrong_type_message

__all__ = ["value_fits", "wrong_type_message"]
