"""业务协同: departments answer on a library project's review; agreed answers become its 预审意见."""

from geo.consult.flow import OPINIONS, Consultations
from geo.consult.routing import Routing, load_routing, route_review
from geo.consult.webhooks import Webhook, deliver_pending, verify

__all__ = [
    "OPINIONS",
    "Consultations",
    "Routing",
    "Webhook",
    "deliver_pending",
    "load_routing",
    "route_review",
    "verify",
]
