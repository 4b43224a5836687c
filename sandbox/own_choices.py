"""Every answer of the sandbox whose code or text is the sandbox's own choice, not Meta's documented word.

Shown on the Test events page, so a tester knows which answers to trust to the letter (Meta's) and which
only in kind (the same code family and meaning, our wording). Keep it next to the answers it describes.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class OwnChoice:
    """One answer: when it is given, its code, and what of it is ours."""

    when: str
    code: str
    ours: str


OWN_CHOICES = (
    OwnChoice("event_time in the future (more than 60 s ahead)", "100 / 2804004", "the subcode and the text"),
    OwnChoice("negative custom_data.value", "100 / 2804019", "the text (refused at all: Pixel Plus' vendor's word)"),
    OwnChoice("custom_data.currency not ISO 4217", "100 / 2804019", "the text"),
    OwnChoice("value, net_revenue, predicted_ltv, item_price not numbers", "100 / 2804019", "the text"),
    OwnChoice("more than 1,000 events", "100", "error_user_title and error_user_msg"),
    OwnChoice("event name over 50 characters; event_time not whole seconds", "100 / 2804019", "the text"),
    OwnChoice(
        "opt_out, data_processing_options(_country/_state), event_source_url of the wrong type",
        "100 / 2804019",
        "the text",
    ),
    OwnChoice("action_source app without app_data; website without event_source_url", "100 / 2804019", "the text"),
    OwnChoice("unhashed contact data", "100 / 2804016", "error_user_msg"),
    OwnChoice("too broad customer information", "100 / 2804050", "error_user_msg"),
    OwnChoice("client_ip_address not an IP address; bad contents item", "100 / 2804019", "the text"),
    OwnChoice("expired Graph version (auto-upgraded)", "200 + header", "the X-Ad-Api-Version-Warning text"),
    OwnChoice("throttling faults 4, 17, 80004, 613", "HTTP 400", "the HTTP status and the usage figures"),
    OwnChoice("server fault", "1, HTTP 503", "the HTTP status"),
    OwnChoice("timeout fault", "none", "the request is held, then answered normally"),
    OwnChoice("other HTTP errors under /sandbox/graph (405, 413 …)", "1", "the code and the text"),
    OwnChoice("a failure inside the sandbox", "1, HTTP 500", "the text"),
)
