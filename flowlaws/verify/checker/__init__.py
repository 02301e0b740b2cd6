"""The independent certificate checker (temporary stub, filled below)."""

from ._certificate import (
    LIMITS, SCHEMA, Reparam, check_certificate, parse_flow, parse_metric, parse_model, parse_poly,
    path_budget_problem, read_certificate,
)
