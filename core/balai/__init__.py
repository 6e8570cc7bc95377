"""Balai: a small Flask core (tenancy, authentication, hooks) for regional government apps.

The public surface for plugins is re-exported here and in the modules named in
``docs/plugin-authors.md`` (the public surface); everything else may move.
"""

__version__ = "0.1.0"

import gc as _gc

# Importing the core and its libraries (Flask, SQLAlchemy, marshmallow, Babel...) makes
# hundreds of thousands of objects that live as long as the process; the cyclic garbage
# collector would walk them again at each of its ~300 collections meanwhile, a fifth of
# the start-up's CPU. It is paused while they import (``create_app`` does the same while
# it builds), and collects as usual afterwards. What the imports made is frozen first
# (``gc.freeze``): else the first collection after the pause walks all of it at once.
_collecting = _gc.isenabled()
_gc.disable()
try:
    from balai.app import create_app
    from balai.hookspecs import hookimpl
    from balai.plugins import Manifest
finally:
    _gc.freeze()
    if _collecting:
        _gc.enable()
    del _collecting

__all__ = ["Manifest", "__version__", "create_app", "hookimpl"]
