"""What one evaluation run measured, as written to ``summary.json`` and read back by the report and the app."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from evals import metrics


@dataclass
class SystemRun:
    """One system's numbers over the whole question set."""

    name: str
    k: int
    metrics: dict[str, float | None]
    pass_rate_by_type: dict[str, float]
    pass_rate_by_answer_kind: dict[str, float] = field(default_factory=dict)  # by chatbot.question.answer_kind


@dataclass
class Summary:
    questions_file: str
    question_count: int
    backend: str
    started: str  # ISO 8601, UTC
    duration_s: float
    system: SystemRun
    baseline: SystemRun | None = None
    notes: list[str] = field(default_factory=list)  # caveats a reader of the numbers must know

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Summary":
        data = dict(data)
        data["system"] = SystemRun(**data["system"])
        data["baseline"] = SystemRun(**data["baseline"]) if data.get("baseline") else None
        return cls(**data)

    def failures(self, minimums: dict[str, float] | None = None, maximums: dict[str, float] | None = None) -> list[str]:
        """One line per threshold the system (not the baseline) misses; empty when all hold.

        A metric the run could not measure (None, e.g. refusal accuracy of a set without
        unanswerable questions) fails its threshold: a gate that silently passes is no gate.
        """
        checks = [(key, limit, ">=") for key, limit in (minimums or {}).items()] + \
                 [(key, limit, "<=") for key, limit in (maximums or {}).items()]
        problems = []
        for key, limit, relation in checks:
            value = self.system.metrics.get(key)
            if value is None or (value < limit if relation == ">=" else value > limit):
                shown = "not measured" if value is None else f"{value:.3f}"
                problems.append(f"{metrics.METRIC_BY_KEY[key].label} {shown}, required {relation} {limit:g}")
        return problems
