"""Find the feed files in a data folder.

Two layouts are recognised:

* an **M5 folder** (``calendar.parquet``, ``sell_prices.parquet``, ``sales_*.parquet``), as in
  ``../shared/data/m5``; the logistics feeds (USAID shipments, NOAA weather, emission factors)
  are then looked up beside it (its parent folder, the layout of ``../shared/data``) and, when
  absent there, taken from the embedded sample;
* a folder that **contains** an ``m5/`` folder, such as ``data/sample`` or ``../shared/data``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FeedError", "FeedPaths", "discover_feeds", "SAMPLE_DIR"]

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"


class FeedError(ValueError):
    """A feed file is missing or unreadable; the message names the file and what is wrong."""


@dataclass(frozen=True)
class FeedPaths:
    """Where each feed lives. ``pos`` may span several files."""

    pos: tuple[Path, ...]
    prices: Path
    calendar: Path
    weather: Path
    weather_key: Path
    shipments: Path
    emission_factors: Path
    layout: str = "m5"
    fallbacks: tuple[str, ...] = field(default=())

    def as_metadata(self) -> dict[str, str]:
        return {
            "layout": self.layout,
            "pos": ", ".join(str(p) for p in self.pos),
            "prices": str(self.prices),
            "calendar": str(self.calendar),
            "weather": str(self.weather),
            "shipments": str(self.shipments),
            "emission_factors": str(self.emission_factors),
            "taken_from_sample": ", ".join(self.fallbacks) or "none",
        }


def _is_m5_folder(path: Path) -> bool:
    return (path / "calendar.parquet").is_file() and any(path.glob("sales_*.parquet"))


def _logistics(root: Path, name: str, fallbacks: list[str]) -> Path:
    candidate = root / name
    if candidate.exists():
        return candidate
    fallbacks.append(name)
    return SAMPLE_DIR / name


def discover_feeds(data_dir: str | Path) -> FeedPaths:
    """Locate every feed under ``data_dir``.

    Args:
        data_dir: an M5 folder or a folder holding ``m5/``.

    Returns:
        The resolved paths.

    Raises:
        FeedError: the folder or a required file is missing.
    """
    data_dir = Path(data_dir).expanduser().resolve()
    if not data_dir.is_dir():
        raise FeedError(f"data folder {data_dir} does not exist")
    if _is_m5_folder(data_dir):
        m5, root = data_dir, data_dir.parent
    elif _is_m5_folder(data_dir / "m5"):
        m5, root = data_dir / "m5", data_dir
    else:
        raise FeedError(
            f"{data_dir}: no feeds found; expected calendar.parquet and sales_*.parquet "
            "(an M5 folder) or an m5/ folder holding them"
        )
    prices = m5 / "sell_prices.parquet"
    if not prices.is_file():
        raise FeedError(f"{m5}: missing sell_prices.parquet")
    fallbacks: list[str] = []
    return FeedPaths(
        pos=tuple(sorted(m5.glob("sales_*.parquet"))),
        prices=prices,
        calendar=m5 / "calendar.parquet",
        weather=_logistics(root, "walmart_stormy_weather", fallbacks) / "weather.parquet",
        weather_key=_logistics(root, "walmart_stormy_weather", []) / "key.parquet",
        shipments=_logistics(root, "usaid_scms_shipments", fallbacks) / "shipments.parquet",
        emission_factors=_logistics(root, "freight_emission_factors.csv", fallbacks),
        layout="m5",
        fallbacks=tuple(fallbacks),
    )
