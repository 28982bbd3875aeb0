"""Demo data: a realistic landing zone for partnerscore, plus the ground truth behind it."""

from orchestration.generate.core import (
    GenerationSummary,
    LandingNotEmptyError,
    default_end_month,
    generate_demo,
)

__all__ = ["GenerationSummary", "LandingNotEmptyError", "default_end_month", "generate_demo"]
