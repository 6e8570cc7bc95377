"""Balai: a small Flask core (tenancy, authentication, hooks) for regional government apps.

The public surface for plugins is re-exported here and in the modules named in
``docs/plugin-authors.md`` (the public surface); everything else may move.
"""

__version__ = "0.1.0"

from balai.app import create_app
from balai.hookspecs import hookimpl
from balai.plugins import Manifest

__all__ = ["Manifest", "__version__", "create_app", "hookimpl"]
