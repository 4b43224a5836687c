"""The Pixel Plus panel on the back-office order page: the module's decisions and events for the order."""

from delivery.order_panel import order_panel
from pixelplus.models import META_CAPI

render = order_panel(META_CAPI, "Meta", "pixelplus")
