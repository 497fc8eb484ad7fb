"""The dashboard (SPEC §8): the built front end in ``static/`` and the routes that serve it at /ui/.

The front end's source lives in ``frontend/`` at the top of the repository; ``npm run build`` there
writes ``static/``, which is committed, so that installing the package needs no Node.
"""

from .routes import STATIC, install

__all__ = ["STATIC", "install"]
