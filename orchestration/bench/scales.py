"""The fixed benchmark scales: partners, months of history and portal events."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    partners: int
    months: int
    events: int
    description: str
    hidden: bool = False

    def as_dict(self) -> dict[str, int | str]:
        return {
            "name": self.name,
            "partners": self.partners,
            "months": self.months,
            "events": self.events,
        }


SCALES: dict[str, Scale] = {
    s.name: s
    for s in (
        # XS exists for the smoke test: the machinery end to end in well under a minute.
        Scale("XS", 40, 6, 20_000, "smoke test: 40 partners, 6 months, 20k events", hidden=True),
        Scale("S", 500, 24, 1_000_000, "500 partners, 24 months, 1 M events"),
        Scale("M", 10_000, 24, 10_000_000, "10,000 partners, 24 months, 10 M events"),
        Scale("L", 50_000, 36, 100_000_000, "50,000 partners, 36 months, 100 M events"),
    )
}


def get_scale(name: str) -> Scale | None:
    return SCALES.get(name.upper())


def public_scale_names() -> list[str]:
    return [s.name for s in SCALES.values() if not s.hidden]
