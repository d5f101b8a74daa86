"""Real US places the sandbox routes parcels through, each with its IANA time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from carriers.types import Location


@dataclass(frozen=True, slots=True)
class Place:
    city: str
    state: str
    postal_code: str
    zone: str  # IANA name; scans here carry this zone's UTC offset on the scan's date
    # USPS v3 names its processing plants in eventCity alone ("QUEENS NY DISTRIBUTION CENTER")
    # with eventState and eventZIP null, as recorded responses show.
    named_facility: bool = False

    def location(self) -> Location:
        """Returns the place as the carrier reports it (country always US)."""
        if self.named_facility:
            return Location(city=self.city, country="US")
        return Location(
            city=self.city, state=self.state, postal_code=self.postal_code, country="US"
        )

    def local(self, at: datetime) -> datetime:
        """Returns `at` as wall-clock time here, with a fixed offset, as carriers report it."""
        return local_time(at, self.zone)

    def wall_clock(self, day: date, clock_time: time) -> datetime:
        """Returns the UTC instant at which this place's clocks show `clock_time` on `day`."""
        return datetime.combine(day, clock_time, tzinfo=_zone(self.zone)).astimezone(UTC)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(at: datetime, zone: str) -> datetime:
    """Returns `at` in `zone`, pinned to that instant's offset, as a parsed carrier time is."""
    zoned = at.astimezone(_zone(zone))
    offset = zoned.utcoffset()
    assert offset is not None  # a ZoneInfo-aware datetime always has one
    return zoned.astimezone(timezone(offset))


# Fulfilment centres merchants ship from.
ORIGINS = (
    Place("Columbus", "OH", "43217", "America/New_York"),
    Place("Reno", "NV", "89502", "America/Los_Angeles"),
    Place("Allentown", "PA", "18106", "America/New_York"),
    Place("Phoenix", "AZ", "85043", "America/Phoenix"),  # no DST: offset -07:00 all year
    Place("Dallas", "TX", "75241", "America/Chicago"),
    Place("Ontario", "CA", "91761", "America/Los_Angeles"),
    Place("Indianapolis", "IN", "46241", "America/Indiana/Indianapolis"),
    Place("Salt Lake City", "UT", "84104", "America/Denver"),
)

# Where customers live.
DESTINATIONS = (
    Place("Brooklyn", "NY", "11215", "America/New_York"),
    Place("Austin", "TX", "78704", "America/Chicago"),
    Place("Denver", "CO", "80205", "America/Denver"),
    Place("Seattle", "WA", "98103", "America/Los_Angeles"),
    Place("Tucson", "AZ", "85705", "America/Phoenix"),
    Place("Miami", "FL", "33130", "America/New_York"),
    Place("Minneapolis", "MN", "55408", "America/Chicago"),
    Place("Boise", "ID", "83702", "America/Boise"),
    Place("Portland", "ME", "04101", "America/New_York"),
    Place("Louisville", "KY", "40204", "America/Kentucky/Louisville"),
    Place("Detroit", "MI", "48226", "America/Detroit"),
    Place("Sacramento", "CA", "95814", "America/Los_Angeles"),
    Place("Nashville", "TN", "37203", "America/Chicago"),
    Place("Charlotte", "NC", "28202", "America/New_York"),
)

# Sort hubs per carrier; USPS hubs are named as USPS names them in its events.
HUBS: dict[str, tuple[Place, ...]] = {
    "fedex": (
        Place("Memphis", "TN", "38118", "America/Chicago"),
        Place("Indianapolis", "IN", "46241", "America/Indiana/Indianapolis"),
        Place("Oakland", "CA", "94621", "America/Los_Angeles"),
        Place("Newark", "NJ", "07114", "America/New_York"),
        Place("Fort Worth", "TX", "76177", "America/Chicago"),
    ),
    "ups": (
        Place("Louisville", "KY", "40209", "America/Kentucky/Louisville"),
        Place("Hodgkins", "IL", "60525", "America/Chicago"),
        Place("Mesquite", "TX", "75149", "America/Chicago"),
        Place("Atlanta", "GA", "30336", "America/New_York"),
        Place("Ontario", "CA", "91761", "America/Los_Angeles"),
    ),
    "usps": (
        Place(
            "INDIANAPOLIS IN DISTRIBUTION CENTER",
            "IN",
            "46241",
            "America/Indiana/Indianapolis",
            named_facility=True,
        ),
        Place(
            "ATLANTA GA DISTRIBUTION CENTER", "GA", "30320", "America/New_York", named_facility=True
        ),
        Place(
            "DENVER CO DISTRIBUTION CENTER", "CO", "80266", "America/Denver", named_facility=True
        ),
        Place(
            "SAN BERNARDINO CA DISTRIBUTION CENTER",
            "CA",
            "92408",
            "America/Los_Angeles",
            named_facility=True,
        ),
        Place(
            "DALLAS TX DISTRIBUTION CENTER", "TX", "75260", "America/Chicago", named_facility=True
        ),
    ),
    "dhl": (
        Place("Groveport", "OH", "43125", "America/New_York"),
        Place("Forest Park", "GA", "30297", "America/New_York"),
        Place("Grand Prairie", "TX", "75050", "America/Chicago"),
        Place("Melrose Park", "IL", "60160", "America/Chicago"),
        Place("Compton", "CA", "90220", "America/Los_Angeles"),
    ),
}
GENERIC_HUBS = HUBS["fedex"]
