"""The quantities a spec asks for, as RunSpec holds them: `Range` (a closed range of numbers) and
`GpuSpec`. The source models validate into them directly, so validating a spec needs only these of
RunSpec's models (`core.spec.runspec` builds on them)."""

from pydantic import BaseModel, ConfigDict, Field


class DataModel(BaseModel):
    """Base of RunSpec and its parts: plain data, unknown fields refused, built on first use."""

    model_config = ConfigDict(extra="forbid", frozen=False, defer_build=True)


class Range(DataModel):
    """A closed range; `min`/`max` None means unbounded on that side. Exact value: min == max."""

    min: float | None = Field(None, description="Lower bound, inclusive; None = no lower bound.")
    max: float | None = Field(None, description="Upper bound, inclusive; None = no upper bound.")

    @classmethod
    def exactly(cls, value: float) -> "Range":
        return cls(min=value, max=value)

    def contains(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def __str__(self) -> str:
        def fmt(v: float | None) -> str:
            return "" if v is None else (str(int(v)) if float(v).is_integer() else str(v))

        if self.min is not None and self.min == self.max:
            return fmt(self.min)
        return f"{fmt(self.min)}..{fmt(self.max)}"


class GpuSpec(DataModel):
    """What GPUs a run asks for. `count` min 0 (or absent max) means GPUs are optional."""

    vendor: str | None = Field(None, description="nvidia, amd, google, intel or tenstorrent.")
    names: list[str] = Field(default_factory=list, description="Acceptable GPU models, e.g. A100, H100.")
    count: Range = Field(default_factory=lambda: Range(min=0, max=None), description="Number of GPUs.")
    memory_gb: Range | None = Field(None, description="Memory per GPU in GB.")
    total_memory_gb: Range | None = Field(None, description="Memory of all GPUs together in GB.")
    compute_capability: tuple[int, int] | None = Field(None, description="Minimum CUDA compute capability.")
    mig: str | None = Field(None, description="MIG profile (VESSL nvidia.com/mig).")

    @property
    def wanted(self) -> int:
        """The number of GPUs to allocate: the lower bound of `count` (0 when optional)."""
        return int(self.count.min or 0)
