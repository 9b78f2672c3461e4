"""The projected daily cost at national scale, in Azure Table Storage transactions.

Every Table REST request is a billable transaction (an entity-group transaction is one; each
page of a query is one): "Understanding Windows Azure Storage Billing", Azure Storage team,
learn.microsoft.com/archive/blogs/windowsazurestorage/understanding-windows-azure-storage-billing-bandwidth-transactions-and-capacity.
The requests per operation are the ones this run counted on Azurite; the volumes and the price
are assumptions, stated next to the figures (bench/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass

# ASSUMPTION: the list price of Table Storage transactions, Standard LRS, USD per 10,000
# (azure.microsoft.com/pricing/details/storage/tables/, as remembered: not found in the
# sources searched for this bench; check the page and region before relying on it).
PRICE_PER_10K_USD = 0.00036
MEAN_MONTH_DAYS = 365.25 / 12


@dataclass(frozen=True)
class Volumes:
    """Operations per day (assumptions, except where the design fixes them)."""

    new_sends: float = 1_000_000
    replays_per_send: float = 0.05  # a client retrying after a lost answer
    shipment_reads_per_send: float = 0.2  # GET shipment: callers that poll the status
    reports_per_send: float = 1.0  # one delivery report per SMS / email
    retention_runs: float = 24  # the hourly timer
    retention_days: float = 7  # IDEMPOTENCY_RETENTION_HOURS 168

    @property
    def near_fraction(self) -> float:
        """The share of the time a request is near a period boundary: the first ``retention``
        of each month."""
        return self.retention_days / MEAN_MONTH_DAYS


@dataclass(frozen=True)
class Counts:
    """Table requests per operation, as counted in the run."""

    send_away: float
    send_near: float
    replay: float
    shipment_away: float
    shipment_near: float
    report_away: float
    report_near: float
    retention_run: float  # one hourly run that drops nothing (creates, listing, base-table scans)
    per_dropped_table: float = 1.0  # one request per period table, once a month
    per_expired_tally: float = 1.01  # its delete, plus a query page per 100 (TableTallyStore.purge)


@dataclass(frozen=True)
class Line:
    """One line of the projection."""

    what: str
    per_day: float  # operations per day
    each: float  # Table requests per operation
    note: str = ""

    @property
    def requests(self) -> float:
        """Table requests per day."""
        return self.per_day * self.each


def mixed(away: float, near: float, volumes: Volumes) -> float:
    """Requests per operation over a month: near for ``near_fraction`` of the time."""
    return away + (near - away) * volumes.near_fraction


def projection(counts: Counts, volumes: Volumes = Volumes()) -> list[Line]:
    """Table requests per day by operation."""
    sends = volumes.new_sends

    def near(away: float, near: float) -> str:
        return f"away {away:g}, near {near:g} ({volumes.near_fraction:.0%} of the time)"

    return [
        Line(
            "new send",
            sends,
            mixed(counts.send_away, counts.send_near, volumes),
            near(counts.send_away, counts.send_near),
        ),
        Line("replay", sends * volumes.replays_per_send, counts.replay, "from the worker's cache: its audit entry"),
        Line(
            "GET shipment",
            sends * volumes.shipment_reads_per_send,
            mixed(counts.shipment_away, counts.shipment_near, volumes),
            near(counts.shipment_away, counts.shipment_near),
        ),
        Line(
            "delivery report",
            sends * volumes.reports_per_send,
            mixed(counts.report_away, counts.report_near, volumes),
            near(counts.report_away, counts.report_near),
        ),
        Line(
            "retention run",
            volumes.retention_runs,
            counts.retention_run,
            "hourly, when it drops nothing: the period tables made ready, the listing, the base table's scans",
        ),
        Line("period table dropped", 1 / MEAN_MONTH_DAYS, counts.per_dropped_table, "one a month, whatever it holds"),
        Line(
            "expired tally purged",
            sends,
            counts.per_expired_tally,
            "worst case: every recipient new each day (one tally each, purged after a day)",
        ),
    ]


def daily_cost(lines: list[Line], price_per_10k: float = PRICE_PER_10K_USD) -> tuple[float, float]:
    """(Table requests per day, USD per day)."""
    total = sum(line.requests for line in lines)
    return total, total / 10_000 * price_per_10k
