"""Prometheus metrics, in one registry the ``/metrics`` endpoint serves.

Names follow Prometheus conventions (``_total`` counters, ``_seconds`` histograms). Gauges that
reflect the database (outbox backlog, subscriber deliveries, audit length) are set by a
collector at scrape time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.deliveries = Counter(
            "charterbot_deliveries_total",
            "Inbound deliveries by source and result (accepted, duplicate, rejected).",
            ["source", "result"],
            registry=r,
        )
        self.commands = Counter(
            "charterbot_commands_total", "Commands by outcome.", ["outcome"], registry=r
        )
        self.events_processed = Counter(
            "charterbot_events_processed_total",
            "Stored events processed, by result.",
            ["result"],
            registry=r,
        )
        self.outbox_backlog = Gauge(
            "charterbot_outbox_backlog", "Outbox items waiting for delivery.", registry=r
        )
        self.outbox_oldest = Gauge(
            "charterbot_outbox_oldest_age_seconds", "Age of the oldest waiting item.", registry=r
        )
        # Subscriber deliveries (announcements, digests) by surface (slack, discord, email,
        # webhook): waiting (pending or being sent) and failed, for good or given up.
        self.deliveries_pending = Gauge(
            "charterbot_deliveries_pending",
            "Subscriber deliveries waiting to be sent, by surface.",
            ["surface"],
            registry=r,
        )
        self.deliveries_failed = Gauge(
            "charterbot_deliveries_failed",
            "Subscriber deliveries failed (not to be retried unless an operator does), by surface.",
            ["surface"],
            registry=r,
        )
        self.deliveries_given_up = Counter(
            "charterbot_deliveries_given_up_total",
            "Subscriber deliveries given up after their tries ran out, by surface.",
            ["surface"],
            registry=r,
        )
        self.delivery_latency = Histogram(
            "charterbot_delivery_latency_seconds",
            "From an effect being stored to its delivery, by destination kind.",
            ["kind"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
            registry=r,
        )
        self.ack_latency = Histogram(
            "charterbot_ack_latency_seconds",
            "Time to acknowledge an inbound delivery.",
            ["source"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
            registry=r,
        )
        self.deadline_lag = Histogram(
            "charterbot_deadline_lag_seconds",
            "How late a deadline fired after it was due.",
            buckets=(0.1, 0.5, 1, 2, 5, 10, 60, 600, 3600),
            registry=r,
        )
        self.audit_length = Gauge(
            "charterbot_audit_entries", "Entries in the audit log.", registry=r
        )
        self.leader = Gauge(
            "charterbot_leader", "1 when this process runs timers and the relay.", registry=r
        )


METRICS = Metrics()
