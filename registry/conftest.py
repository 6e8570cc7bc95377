"""The sample plugins under ``samples/`` are files the registry's demo offers, not
installed here: their own tests run in a throw-away environment
(``balai-registry/tests/test_samples.py``), never in this one."""

collect_ignore = ["samples"]
