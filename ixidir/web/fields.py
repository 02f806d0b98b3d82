"""Which attributes the web pages show, grouped as the vendor manual groups a user's settings
(§4.4: general, fax, SMS, voice mailbox, MWI, daily limits), with their English labels.

Labels are message ids: the page translates them through the catalogs (i18n.py). Validation
is not here: every value goes to the admin use-cases, which check it as the CLI does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_NUMBER_TOKEN = re.compile(r"\+?[0-9][0-9 ()/-]{4,}[0-9]")


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "a message id, translated later")
    return message


@dataclass(frozen=True, slots=True)
class Field:
    attr: str
    label: str
    multi: bool = False  # one value a line


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    title: str
    fields: tuple[Field, ...]


USER_GROUPS = (
    Group("general", N_("General"), (
        Field("givenName", N_("Given name")),
        Field("sn", N_("Surname")),
        Field("displayName", N_("Display name")),
        Field("mail", N_("E-mail address")),
        Field("facsimileTelephoneNumber", N_("UMS number (fax)"), multi=True),
        Field("telephoneNumber", N_("Phone")),
        Field("mobile", N_("Mobile")),
        Field("company", N_("Company")),
        Field("department", N_("Department")),
        Field("ixiBillingCode", N_("Billing code")),
        Field("ixiDeliveryReportMode", N_("Delivery reports (default, send, suppress)")),
        Field("ixiVipUser", N_("VIP user (TRUE/FALSE)")),
    )),
    Group("fax", N_("Fax"), (
        Field("ixiFaxSenderNumber", N_("Fax sender number")),
        Field("ixiFaxHeadline", N_("Fax headline")),
        Field("ixiFaxPermission", N_("Fax permission")),
        Field("ixiFaxMaxPages", N_("Maximum pages per fax")),
        Field("ixiFaxInboundFormat", N_("Inbound format (tif, pdf)"), multi=True),
    )),
    Group("sms", N_("SMS"), (
        Field("ixiSmsNumber", N_("SMS numbers"), multi=True),
        Field("ixiSmsPermission", N_("SMS permission")),
    )),
    Group("voicemail", N_("Voice mailbox"), (
        Field("ixiVoiceNumber", N_("Voice numbers"), multi=True),
        Field("ixiVoicePermission", N_("Voice permission")),
        Field("ixiVmEnabled", N_("Mailbox enabled (TRUE/FALSE)")),
        Field("ixiVmAccessMode", N_("Access mode")),
        Field("ixiVmGreetingLanguage", N_("Greeting language")),
        Field("ixiVmMenuLanguage", N_("Menu language")),
        Field("ixiVmLoginScope", N_("Login from (default, any, restricted, none)")),
        Field("ixiVmMailboxFolder", N_("Mailbox folder")),
    )),
    Group("mwi", N_("Message waiting indication"), (
        Field("ixiNotifyUseDefaults", N_("Use the server's notification defaults (TRUE/FALSE)")),
        Field("ixiNotifyDevice", N_("Notify by (mwi, sms, call)"), multi=True),
        Field("ixiNotifyThreshold", N_("Notify after this many messages")),
        Field("ixiMwiNumber", N_("MWI phone number")),
    )),
    Group("limits", N_("Daily limits"), (
        Field("ixiFaxDailyLimitMode", N_("Faxes a day (default, infinite, custom)")),
        Field("ixiFaxDailyLimit", N_("Custom fax limit")),
        Field("ixiSmsDailyLimitMode", N_("SMS a day (default, infinite, custom)")),
        Field("ixiSmsDailyLimit", N_("Custom SMS limit")),
        Field("ixiVoiceDailyLimitMode", N_("Voice calls a day (default, infinite, custom)")),
        Field("ixiVoiceDailyLimit", N_("Custom voice limit")),
    )),
)  # fmt: skip

SITE_GROUPS = (
    Group("numbering", N_("Numbering"), (
        Field("ixiSiteCountryCode", N_("Country code")),
        Field("ixiSiteAreaCode", N_("Area code (without the leading 0)")),
        Field("ixiSiteNationalPrefix", N_("National prefix")),
        Field("ixiSiteInternationalPrefix", N_("International prefix")),
    )),
    Group("limits", N_("Daily limits"), (
        Field("ixiDailyLimitEnabled", N_("Daily limits on (TRUE/FALSE)")),
        Field("ixiDailyLimitTimeZone", N_("Time zone of the day (e.g. Europe/Berlin)")),
        Field("ixiFaxDailyLimitMode", N_("Faxes a day (infinite, custom)")),
        Field("ixiFaxDailyLimit", N_("Custom fax limit")),
        Field("ixiSmsDailyLimitMode", N_("SMS a day (infinite, custom)")),
        Field("ixiSmsDailyLimit", N_("Custom SMS limit")),
        Field("ixiVoiceDailyLimitMode", N_("Voice calls a day (infinite, custom)")),
        Field("ixiVoiceDailyLimit", N_("Custom voice limit")),
    )),
    Group("pin", N_("Voice-mailbox PIN lock"), (
        Field("ixiVmPinMaxFailures", N_("Wrong PINs before the lock")),
        Field("ixiVmPinLockoutSeconds", N_("Lock seconds (0: until unlocked here)")),
    )),
)  # fmt: skip
# The templates for new users (manual §4.1.2.1), by ixidir.admin.users.TEMPLATE_ATTRS key.
TEMPLATE_FIELDS = (
    Field("display_name", N_("Display name template")),
    Field("uid", N_("User ID template")),
    Field("mail", N_("Mail template")),
)

# The new-user form: (form name, label, mandatory); names are NewUser's fields.
NEW_USER_FIELDS = (
    Field("given_name", N_("Given name")),
    Field("surname", N_("Surname")),
    Field("mail", N_("E-mail address (empty: from the template)")),
    Field("fax", N_("UMS number (fax)")),
    Field("phone", N_("Phone")),
    Field("mobile", N_("Mobile")),
    Field("company", N_("Company")),
    Field("department", N_("Department")),
)
MANDATORY = frozenset({"given_name", "surname"})
# Where a refusal about an attribute is shown on the new-user form.
NEW_USER_ATTRS = {
    "givenName": "given_name", "sn": "surname", "mail": "mail",
    "facsimileTelephoneNumber": "fax", "telephoneNumber": "phone", "mobile": "mobile",
    "company": "company", "department": "department",
}  # fmt: skip


def field_of(
    message: str, names: dict[str, str], values: Mapping[str, str] | None = None
) -> str | None:
    """The form field a use-case's refusal is about: the attribute it names first, else the
    field holding the number it names ("telephone number +49... already routes to ...")."""
    found = []
    for attr, key in names.items():
        match = re.search(rf"\b{attr}\b", message)
        if match:
            found.append((match.start(), key))
    if found:
        return min(found)[1]
    named = {_digits(token) for token in _NUMBER_TOKEN.findall(message)}
    for key, value in (values or {}).items():
        if _digits(value) and any(_digits(line) in named for line in value.splitlines()):
            return key
    return None


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())
