"""The engine's pipeline: the stages :func:`flowlaws.analyze` runs, one module each.

``problem`` (validated question) → ``family`` (generators: network route on
jets, or explicit fields) → ``search`` (the exact law search's set-up) →
``structural`` (laws the architecture suggests, networks only) →
``degree_search`` (laws by degree, the rank as upper bound) → ``certificate``.
``bounds`` holds the frozen data passed between stages; ``flow``, ``metric``
and ``fields`` describe the flows. See ``docs/architecture.md``.
"""
