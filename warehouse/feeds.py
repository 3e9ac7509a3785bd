"""Find the feed files in a data folder.

Two layouts are recognised:

* an **M5 folder** (``calendar.parquet``, ``sell_prices.parquet``, ``sales_*.parquet``), as in
  ``../shared/data/m5``; beside it (its parent folder, the layout of ``../shared/data``),
  ``m5_history/sales_*.parquet`` is earlier history of the same series (``pos_history``) and the
  weather (``weather_ghcn/``: GHCN-Daily + store -> station map; ``walmart_stormy_weather/``: NOAA)
  and logistics feeds (USAID shipments, emission factors) are looked up; a missing weather or
  logistics feed is taken from the embedded sample;
* a folder that **contains** an ``m5/`` folder, such as ``data/sample`` or ``../shared/data``;
* the **canonical layout** (README "Feed layout"): one folder per feed (``pos/``, ``prices/``,
  ``calendar/``, ``weather/``, ``weather_stations/``, ``shipments/``, optional ``suppliers/`` and
  ``inventory/``, ``emission_factors/``, ``events/``, ``promotions/``, ``pos_history/``), each holding ``*.csv`` /
  ``*.parquet`` files. It is recognised by its ``pos/`` folder. Only ``pos/`` is required: the
  retailer's other feeds are optional (absent = none).

:meth:`FeedPaths.provenance` says where each feed came from (the data folder, beside the M5
folder, or the embedded sample) and :meth:`FeedPaths.sample_fallbacks` which feeds were taken from
the sample for data that is not the sample: the caller decides whether that is acceptable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from warehouse.layout import GHCN_FOLDER, GHCN_PROXY_MAP, HISTORY_FOLDER

__all__ = ["FeedError", "FeedPaths", "discover_feeds", "feed_files", "SAMPLE_DIR", "CANONICAL_FOLDERS",
           "LOGISTICS_FEEDS", "FEED_SOURCES"]

CANONICAL_FOLDERS = ("pos", "pos_history", "prices", "calendar", "events", "promotions", "weather", "weather_stations",
                     "shipments", "suppliers", "inventory", "emission_factors")
# Feeds a run can borrow from the embedded sample when a data folder lacks them.
LOGISTICS_FEEDS = ("weather", "weather_stations", "shipments", "emission_factors")
# Where a feed came from: the data folder given, the folder beside an M5 folder, the embedded sample.
FEED_SOURCES = ("data", "beside_m5", "sample")

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
    extra: dict[str, tuple[Path, ...]] = field(default_factory=dict)
    data_dir: Path | None = None

    def files(self, feed: str) -> tuple[Path, ...]:
        """Every file of ``feed`` (a canonical folder name); empty for an absent optional feed."""
        single = {"prices": self.prices, "calendar": self.calendar, "weather": self.weather,
                  "weather_stations": self.weather_key, "shipments": self.shipments,
                  "emission_factors": self.emission_factors}
        if feed in self.extra:
            return self.extra[feed]
        if feed == "pos":
            return self.pos
        if feed in single:
            return (single[feed],)
        return ()

    def feeds(self) -> tuple[str, ...]:
        """The feeds present, in canonical order (optional feeds only when they have files)."""
        return tuple(f for f in CANONICAL_FOLDERS if self.files(f))

    def source(self, feed: str) -> str:
        """Where ``feed`` came from: one of :data:`FEED_SOURCES`."""
        path = self.files(feed)[0]
        if path.is_relative_to(SAMPLE_DIR):
            return "sample"
        if self.data_dir is None or path.is_relative_to(self.data_dir):
            return "data"
        return "beside_m5"

    def provenance(self) -> dict[str, dict[str, str | int]]:
        """Per feed: ``path`` (the file, or the folder of several), ``files`` (count) and ``source``."""
        out: dict[str, dict[str, str | int]] = {}
        for feed in self.feeds():
            files = self.files(feed)
            path = files[0] if len(files) == 1 else files[0].parent
            out[feed] = {"path": str(path), "files": len(files), "source": self.source(feed)}
        return out

    def sample_fallbacks(self) -> tuple[str, ...]:
        """Logistics feeds taken from the embedded sample although the POS feed is not the sample's."""
        if self.source("pos") == "sample":
            return ()
        return tuple(f for f in LOGISTICS_FEEDS if self.files(f) and self.source(f) == "sample")

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
            **{k: ", ".join(str(p) for p in v) for k, v in self.extra.items()},
        }


def _is_m5_folder(path: Path) -> bool:
    return (path / "calendar.parquet").is_file() and any(path.glob("sales_*.parquet"))


def _logistics(root: Path, name: str, fallbacks: list[str]) -> Path:
    candidate = root / name
    if candidate.exists():
        return candidate
    fallbacks.append(name)
    return SAMPLE_DIR / name


def feed_files(folder: Path) -> tuple[Path, ...]:
    """The ``*.csv`` and ``*.parquet`` files of one canonical feed folder, sorted."""
    if not folder.is_dir():
        return ()
    return tuple(sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".csv", ".parquet")))


def _canonical(root: Path) -> FeedPaths:
    found = {name: feed_files(root / name) for name in CANONICAL_FOLDERS}
    fallbacks: list[str] = []
    sample = discover_feeds(SAMPLE_DIR)
    if not found["pos"]:
        raise FeedError(f"{root}: canonical layout without files in pos/ (expected *.csv or *.parquet)")
    for name in ("shipments", "emission_factors"):
        if not found[name]:
            fallbacks.append(name)
            found[name] = sample.files(name)
    # an absent optional feed: its folder stands in for the file, and files() gives none
    first = {name: files[0] if files else root / name for name, files in found.items()}
    return FeedPaths(
        pos=found["pos"], prices=first["prices"], calendar=first["calendar"], weather=first["weather"],
        weather_key=first["weather_stations"], shipments=found["shipments"][0],
        emission_factors=found["emission_factors"][0], layout="canonical", fallbacks=tuple(fallbacks),
        extra={k: v for k, v in found.items() if k != "pos"}, data_dir=root,
    )


def discover_feeds(data_dir: str | Path) -> FeedPaths:
    """Locate every feed under ``data_dir``.

    Args:
        data_dir: a canonical feed folder, an M5 folder or a folder holding ``m5/``.

    Returns:
        The resolved paths.

    Raises:
        FeedError: the folder or a required file is missing.
    """
    data_dir = Path(data_dir).expanduser().resolve()
    if not data_dir.is_dir():
        raise FeedError(f"data folder {data_dir} does not exist")
    if (data_dir / "pos").is_dir():
        return _canonical(data_dir)
    if _is_m5_folder(data_dir):
        m5, root = data_dir, data_dir.parent
    elif _is_m5_folder(data_dir / "m5"):
        m5, root = data_dir / "m5", data_dir
    else:
        raise FeedError(
            f"{data_dir}: no feeds found; expected a canonical feed layout (pos/, prices/, calendar/...), "
            "calendar.parquet and sales_*.parquet (an M5 folder) or an m5/ folder holding them"
        )
    prices = m5 / "sell_prices.parquet"
    if not prices.is_file():
        raise FeedError(f"{m5}: missing sell_prices.parquet")
    fallbacks: list[str] = []
    weather, weather_key = _m5_weather(root)
    if not weather:
        fallbacks.append("weather")
        weather, weather_key = _m5_weather(SAMPLE_DIR)
    return FeedPaths(
        pos=tuple(sorted(m5.glob("sales_*.parquet"))),
        prices=prices,
        calendar=m5 / "calendar.parquet",
        weather=weather[0],
        weather_key=weather_key[0] if weather_key else weather[0].parent,
        shipments=_logistics(root, "usaid_scms_shipments", fallbacks) / "shipments.parquet",
        emission_factors=_logistics(root, "freight_emission_factors.csv", fallbacks),
        layout="m5",
        fallbacks=tuple(fallbacks),
        extra={"pos_history": tuple(sorted((root / HISTORY_FOLDER).glob("sales_*.parquet"))), "weather": weather,
               "weather_stations": weather_key},
        data_dir=data_dir,
    )


def _m5_weather(root: Path) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """Weather files and store -> station maps beside an M5 folder: GHCN-Daily, then NOAA stormy weather."""
    weather: list[Path] = []
    keys: list[Path] = []
    for folder, daily, key in ((GHCN_FOLDER, "daily.parquet", GHCN_PROXY_MAP),
                               ("walmart_stormy_weather", "weather.parquet", "key.parquet")):
        if (root / folder / daily).is_file():
            weather.append(root / folder / daily)
            if (root / folder / key).is_file():
                keys.append(root / folder / key)
    return tuple(weather), tuple(keys)
