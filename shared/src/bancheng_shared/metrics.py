"""Prometheus metrics shared by every service (one process per service, default registry)."""

from prometheus_client import Counter, Histogram, disable_created_metrics

disable_created_metrics()  # `_created` series are noise for counters that start with the process

HTTP_REQUESTS = Counter(
    "bancheng_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "bancheng_http_request_seconds",
    "HTTP request latency",
    ["service", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_PUBLISHED = Counter("bancheng_events_published_total", "Outbox rows published", ["service"])
EVENTS_CONSUMED = Counter("bancheng_events_consumed_total", "Events handled", ["service", "type"])
EVENTS_DUPLICATE = Counter(
    "bancheng_events_duplicate_total", "Events dropped as already handled", ["service", "type"]
)
EVENTS_DEAD_LETTERED = Counter("bancheng_events_dead_lettered_total", "Events sent to a DLQ", ["service"])
EVENT_AGE = Histogram(
    "bancheng_event_age_seconds",
    "Age of an event when handled (occurred_at to handling)",
    ["service"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
RELAY_ERRORS = Counter("bancheng_relay_errors_total", "Outbox relay errors", ["service"])
CONSUMER_ERRORS = Counter("bancheng_consumer_errors_total", "Consumer errors", ["service"])
REPUBLISHED = Counter(
    "bancheng_outbox_republished_total", "Outbox rows republished after the broker came back empty", ["service"]
)
