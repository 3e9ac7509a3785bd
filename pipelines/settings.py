"""The state paths live next to the assets (``assets.settings``); this name stays for older imports."""

from assets.settings import *  # noqa: F401,F403
from assets.settings import __all__  # noqa: F401
