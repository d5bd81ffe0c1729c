"""The stages a document passes through, one module each, and the pipelines made of them.

A stage is registered here by name as "module:Class" (a subclass of stages.base.Stage)
and imported only when a pipeline uses it: ftfy, langdetect and the rule detectors took
~0.15 s to import, 3% of a `curate dedup` that needs none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from curate.errors import UsageError

if TYPE_CHECKING:
    from curate.driver import RunConfig
    from curate.stages.base import Stage

STAGES: dict[str, str] = {
    "read": "curate.stages.split:Split",
    "normalise": "curate.stages.normalise:Normalise",
    "site": "curate.stages.site:SiteBoilerplate",
    "noise": "curate.stages.noise:StripNoise",
    "language": "curate.stages.language:LabelLanguages",
    "documents": "curate.stages.documents:DocumentRules",
    "signature": "curate.stages.dedup.sign:Sign",
    "dedup": "curate.stages.dedup.barrier:Dedup",
}

RUN_PIPELINE = ("read", "normalise", "site", "noise", "language", "documents", "signature", "dedup")  # curate run
DEDUP_PIPELINE = ("read", "signature", "dedup")  # curate dedup
# The stages a run may leave out; summary.json lists which of them ran.
OPTIONAL_STAGES = ("normalise", "site", "noise", "language", "documents")


def stage_class(name: str) -> type[Stage]:
    where = STAGES.get(name)
    if where is None:
        raise UsageError(f"unknown stage {name!r}; choose from: {', '.join(STAGES)}")
    module, _, cls = where.partition(":")
    found: type[Stage] = getattr(importlib.import_module(module), cls)
    return found


def build_pipeline(names: tuple[str, ...], cfg: RunConfig) -> list[Stage]:
    """The stages named, configured by ``cfg``. A barrier may only come last: the engines
    map everything before it and compute it over the whole corpus."""
    stages = [stage_class(name).from_config(cfg) for name in names]
    if not stages or stages[0].name != "read":
        raise UsageError(f"a pipeline starts with 'read' (it makes documents of what was read), not {names!r}")
    for stage in stages[:-1]:
        if stage.barrier:
            raise UsageError(f"the barrier stage {stage.name!r} must come last in the pipeline {names!r}")
    return stages
