"""Browser data for ad attribution: Meta's _fbp/_fbc cookies, Google's _ga, first-touch utm parameters.

On every storefront request (``capture_landing`` before, ``set_tracking_cookies`` after):
- an ``fbclid`` in the URL becomes the ``_fbc`` cookie ``fb.1.<unix ms>.<fbclid>``; an existing _fbc
  carrying the same click id is kept (its creation time stays), a different click id replaces it
  (the latest ad click wins, as Meta's pixel does);
- a browser without a valid ``_fbp`` cookie gets ``fb.1.<unix ms>.<random 10-digit int>``;
- a browser without a valid ``_ga`` cookie gets ``GA1.1.<random>.<unix seconds>`` as Google's tag would
  write it; its last two parts are the GA4 client id stored on the order (Measurement Protocol client_id);
- a browser without a valid ``ppcid`` cookie gets the shop's own click id (random, HttpOnly): the id an
  affiliate network is given and sends back in a refund postback (``cid``);
- the first landing URL that carries utm_source/utm_medium/utm_campaign is remembered in the session
  (first touch: later landings never overwrite it).
At checkout ``browser_data()`` returns what ``shop.orders.place_order(browser=...)`` stores.

The client IP is ``request.remote_addr``: X-Forwarded-For is trusted only when the deployer says how many
proxies stand in front (``SHOP_TRUSTED_PROXIES``, applied with werkzeug's ProxyFix by ``init_app``);
otherwise anyone could claim any address with a header.
"""

import re
import secrets
import time

from flask import Flask, g, request, session
from werkzeug.middleware.proxy_fix import ProxyFix

FBP_COOKIE = "_fbp"
FBC_COOKIE = "_fbc"
CLICK_ID_COOKIE = "ppcid"
COOKIE_MAX_AGE = 90 * 24 * 3600  # Meta's pixel keeps its cookies 90 days
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign")
UTM_SESSION_KEY = "utm"
UTM_MAX_LENGTH = 255  # the order's utm_* columns
FB_VALUE_MAX_LENGTH = 255  # the order's fbp/fbc columns
GA_COOKIE = "_ga"
GA_COOKIE_MAX_AGE = 400 * 24 * 3600  # browsers cap cookies at 400 days; Google's tag asks for 2 years
GA_CLIENT_ID_MAX_LENGTH = 64  # the order's ga_client_id column
# The cookie is written for the registrable domain ("example.com"), so subdomainIndex is 1,
# the value Meta asks servers to use.
SUBDOMAIN_INDEX = 1

# Meta's click ids are URL-safe base64; anything else is not a click id and would need cookie quoting.
_FBCLID = re.compile(r"[A-Za-z0-9_-]+")
# fb.<subdomainIndex>.<creationTime>.<fbclid or random>[.<appendix>], as Meta's pixel and
# parameter builders write them; a value read from a cookie is passed on unchanged.
_FB_COOKIE_VALUE = re.compile(r"fb\.[0-9]\.[0-9]+\.[A-Za-z0-9_.-]+")
# GA1.<domain depth>.<random>.<first visit, unix seconds>: the client id is the last two numbers.
_GA_COOKIE_VALUE = re.compile(r"GA1\.[0-9]\.([0-9]{1,20}\.[0-9]{1,20})")
# What new_click_id() makes; any other cookie value is replaced rather than stored on an order.
CLICK_ID = re.compile(r"[A-Za-z0-9_-]{22}")


def init_app(app: Flask) -> None:
    """Trust X-Forwarded-* headers only from the number of proxies the deployer configured."""
    proxies = int(app.config.get("SHOP_TRUSTED_PROXIES") or 0)
    if proxies > 0 and not app.extensions.get("shop.proxy_fix"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
        app.extensions["shop.proxy_fix"] = proxies


def unix_ms() -> int:
    """Return the current time in Unix milliseconds (Meta's creationTime)."""
    return time.time_ns() // 1_000_000


def new_fbp() -> str:
    """Return a fresh browser id in Meta's _fbp format."""
    return f"fb.{SUBDOMAIN_INDEX}.{unix_ms()}.{secrets.randbelow(9_000_000_000) + 1_000_000_000}"


def new_ga_cookie() -> str:
    """Return a fresh _ga cookie value in Google's shape: ``GA1.1.<random>.<unix seconds>``."""
    return f"GA1.1.{secrets.randbelow(2_000_000_000) + 100_000_000}.{int(time.time())}"


def ga_client_id(cookie: str | None) -> str | None:
    """Return the GA4 client id inside a _ga cookie value (``1234567890.1700000000``), or None."""
    match = _GA_COOKIE_VALUE.fullmatch(cookie or "")
    return match.group(1) if match else None


def new_click_id() -> str:
    """Return a fresh click id: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def fbc_from_fbclid(fbclid: str) -> str:
    """Return the _fbc value for a click id, which must be passed on exactly as received."""
    return f"fb.{SUBDOMAIN_INDEX}.{unix_ms()}.{fbclid}"


def is_fb_cookie_value(value: str | None) -> bool:
    """Whether value has the shape of an _fbp/_fbc cookie Meta would accept."""
    return bool(value) and len(value) <= FB_VALUE_MAX_LENGTH and _FB_COOKIE_VALUE.fullmatch(value) is not None


def _click_id_of(fbc: str) -> str:
    """Return the click id inside an _fbc value (without a parameter builder's appendix)."""
    return fbc.split(".")[3]


def _usable_fbclid(fbclid: str | None) -> str | None:
    if not fbclid or not _FBCLID.fullmatch(fbclid):
        return None
    # Never truncate a click id (Meta flags modified fbclids): one too long to store is ignored.
    if len(fbc_from_fbclid(fbclid)) > FB_VALUE_MAX_LENGTH:
        return None
    return fbclid


def capture_landing() -> None:
    """Work out this request's fbp/fbc and remember first-touch utm parameters (a before_request hook)."""
    fbp = request.cookies.get(FBP_COOKIE)
    fbc = request.cookies.get(FBC_COOKIE)
    to_set: dict[str, str] = {}

    if not is_fb_cookie_value(fbp):
        fbp = to_set[FBP_COOKIE] = new_fbp()
    if not is_fb_cookie_value(fbc):
        fbc = None
    ga = request.cookies.get(GA_COOKIE)
    if ga_client_id(ga) is None:
        ga = to_set[GA_COOKIE] = new_ga_cookie()
    fbclid = _usable_fbclid(request.args.get("fbclid"))
    if fbclid and (fbc is None or _click_id_of(fbc) != fbclid):
        fbc = to_set[FBC_COOKIE] = fbc_from_fbclid(fbclid)
    click_id = request.cookies.get(CLICK_ID_COOKIE)
    if not click_id or not CLICK_ID.fullmatch(click_id):
        click_id = to_set[CLICK_ID_COOKIE] = new_click_id()

    g.tracking = {
        "fbp": fbp,
        "fbc": fbc,
        "ga_client_id": ga_client_id(ga),
        "click_id": click_id,
        "cookies_to_set": to_set,
    }
    _remember_first_touch_utm()


def _remember_first_touch_utm() -> None:
    if session.get(UTM_SESSION_KEY):
        return
    utm = {}
    for name in UTM_FIELDS:
        value = (request.args.get(name) or "").strip()
        if value:
            utm[name] = value[:UTM_MAX_LENGTH]
    if utm:
        session[UTM_SESSION_KEY] = utm


def set_tracking_cookies(response):
    """Write the _fbp/_fbc/_ga/ppcid cookies worked out for this request (an after_request hook)."""
    tracking = g.get("tracking") or {}
    for name, value in tracking.get("cookies_to_set", {}).items():
        response.set_cookie(
            name,
            value,
            max_age=GA_COOKIE_MAX_AGE if name == GA_COOKIE else COOKIE_MAX_AGE,
            path="/",
            samesite="Lax",
            secure=request.is_secure,
            # Meta's pixel and Google's tag read their cookies and must share our ids; no script needs ours.
            httponly=name == CLICK_ID_COOKIE,
        )
    return response


def browser_data() -> dict:
    """Return the browser data of the current request for the order placed by it."""
    tracking = g.get("tracking") or {}
    utm = session.get(UTM_SESSION_KEY) or {}
    return {
        "client_ip_address": request.remote_addr,
        "client_user_agent": request.user_agent.string or None,
        "fbp": tracking.get("fbp") or None,
        "fbc": tracking.get("fbc") or None,
        "ga_client_id": tracking.get("ga_client_id") or None,
        "event_source_url": request.url,
        "click_id": tracking.get("click_id") or None,
        **{name: utm.get(name) for name in UTM_FIELDS},
    }
