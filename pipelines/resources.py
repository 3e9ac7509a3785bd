"""The resources live next to the assets (``assets.resources``); this name stays for older imports."""

from assets.resources import *  # noqa: F401,F403
from assets.resources import __all__  # noqa: F401
