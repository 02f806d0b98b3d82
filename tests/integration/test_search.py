"""Searches against a real `ixidir serve`, driven by OpenLDAP's `ldapsearch` (RFC 4511 §4.5).

ldapsearch's exit status is the LDAP result code, so every test asserts it along with the
entries. Only the demo users are read here: this module never writes.
"""

from __future__ import annotations

import base64
import subprocess

from .conftest import BASE_DN, RunningServer

PEOPLE = f"ou=people,{BASE_DN}"
DEMO_UIDS = {
    "jmueller",
    "sbaeuerle",
    "kschroeder",
    "aweiss",
    "tkoehler",
    "mhuber",
    "lschaefer",
    "fgruenewald",
}
PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"
WHO_AM_I_OID = "1.3.6.1.4.1.4203.1.11.3"
PASSWORD_MODIFY_OID = "1.3.6.1.4.1.4203.1.11.1"
OPERATIONAL = {
    "createTimestamp",
    "modifyTimestamp",
    "creatorsName",
    "modifiersName",
    "entryUUID",
    "entryDN",
    "hasSubordinates",
    "structuralObjectClass",
    "subschemaSubentry",
}

Entries = dict[str, dict[str, list[str]]]


def parse_ldif(text: str) -> Entries:
    """`ldapsearch -LLL -o ldif-wrap=no` output as DN -> attribute -> values (base64 decoded)."""
    entries: Entries = {}
    current: dict[str, list[str]] | None = None
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition(":")
        if value.startswith(":"):
            value = base64.b64decode(value[1:].strip()).decode("utf-8")
        else:
            value = value.strip()
        if name == "dn":
            current = entries.setdefault(value, {})
        elif current is not None:
            current.setdefault(name, []).append(value)
    return entries


def search(
    server: RunningServer,
    base: str,
    *args: str,
    scope: str = "sub",
    bind: bool = True,
) -> tuple[subprocess.CompletedProcess[str], Entries]:
    """Run ldapsearch (admin bound unless `bind` is false) and parse what it printed."""
    done = server.ldap(
        "ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-b", base, "-s", scope, *args, bind=bind
    )
    return done, parse_ldif(done.stdout)


def uids(entries: Entries) -> set[str]:
    return {dn.split(",", 1)[0].removeprefix("uid=") for dn in entries if dn.startswith("uid=")}


def found(server: RunningServer, *filters: str) -> list[set[str]]:
    """The demo uids each filter finds in one admin subtree search per filter.

    One ldapsearch run reads the filters from stdin (-f -) so the admin binds once: a bind
    costs a PBKDF2 verification. Each '(...)' filter fills the '(%s)' pattern with its inside.
    """
    done = server.ldap(
        "ldapsearch", "-L", "-o", "ldif-wrap=no", "-b", BASE_DN, "-f", "-", "(%s)", "1.1",
        stdin="".join(f"{f[1:-1]}\n" for f in filters),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results: dict[str, set[str]] = {}
    current: set[str] = set()
    for line in done.stdout.splitlines():
        if line.startswith("# filter: "):
            current = results.setdefault(line.removeprefix("# filter: "), set())
        elif line.startswith("dn: uid="):
            current.add(line.removeprefix("dn: uid=").split(",", 1)[0])
    assert len(results) == len(filters), done.stdout
    return [results[f] for f in filters]


def test_base_scope_returns_only_the_base_entry(server: RunningServer) -> None:
    """-s base names exactly one entry, whatever the filter matches below it."""
    done, entries = search(server, PEOPLE, "(objectClass=*)", "1.1", scope="base")
    assert done.returncode == 0, done.stderr
    assert list(entries) == [PEOPLE]


def test_one_level_scope_returns_children_but_not_grandchildren(server: RunningServer) -> None:
    """-s one under the suffix shows ou=people but none of the users below it, nor the base."""
    done, entries = search(server, BASE_DN, "(objectClass=*)", "1.1", scope="one")
    assert done.returncode == 0, done.stderr
    assert PEOPLE in entries
    assert BASE_DN not in entries
    assert uids(entries) == set()


def test_subtree_scope_returns_the_base_and_every_descendant(server: RunningServer) -> None:
    """-s sub from ou=people returns ou=people itself and all eight demo users."""
    done, entries = search(server, PEOPLE, "(objectClass=*)", "1.1")
    assert done.returncode == 0, done.stderr
    assert PEOPLE in entries
    assert uids(entries) == DEMO_UIDS


def test_search_below_a_missing_base_is_no_such_object_with_matched_dn(
    server: RunningServer,
) -> None:
    """A base that does not exist gives noSuchObject (32) and names the closest existing entry."""
    done, entries = search(server, f"uid=nobody,{PEOPLE}", "(objectClass=*)")
    assert done.returncode == 32
    assert entries == {}
    assert PEOPLE in done.stderr


def test_fax_equality_ignores_spaces_and_hyphens(server: RunningServer) -> None:
    """telephoneNumberMatch (RFC 4518 §2.6.3): every spacing of a fax finds its one holder,
    whether the stored value is spaced (jmueller) or plain E.164 digits (sbaeuerle)."""
    assert found(
        server,
        "(facsimileTelephoneNumber=+49 8142 4799-123)",  # as stored in the demo
        "(facsimileTelephoneNumber=+4981424799123)",
        "(facsimileTelephoneNumber=+49-8142-4799-123)",
        "(facsimileTelephoneNumber=+49 8142 4799 123)",
        "(facsimileTelephoneNumber=+49 8142 4799-124)",  # stored as +4981424799124
        "(fax=+4981424799130)",  # `fax` is a name of the type (RFC 4519)
    ) == [{"jmueller"}] * 4 + [{"sbaeuerle"}, {"fgruenewald"}]


def test_fax_substrings_ignore_spaces_and_hyphens(server: RunningServer) -> None:
    """telephoneNumberSubstringsMatch: spaces and hyphens count neither in the filter nor in the
    stored value, for initial, any and final components alike."""
    assert found(
        server,
        "(facsimileTelephoneNumber=*4799-12*)",
        "(facsimileTelephoneNumber=*99-12 8)",
        "(facsimileTelephoneNumber=+4 9*8142-479 9*1 24)",
    ) == [DEMO_UIDS - {"fgruenewald"}, {"mhuber"}, {"sbaeuerle"}]  # his fax is 4799130


def test_substring_filters_with_initial_any_and_final_parts(server: RunningServer) -> None:
    """caseIgnoreSubstringsMatch on initial, any and final components, case-insensitively."""
    assert found(
        server, "(cn=maria*)", "(mail=*.huber@EXAMPLE.com)", "(mail=m*ia*ber@*)", "(uid=*schaefer)"
    ) == [{"mhuber"}] * 3 + [{"lschaefer"}]


def test_equality_on_non_ascii_values_is_case_insensitive(server: RunningServer) -> None:
    """cn 'Jürgen Müller' (stored base64 in the LDIF) matches in any letter case."""
    assert found(server, "(cn=Jürgen Müller)", "(cn=JÜRGEN MÜLLER)") == [{"jmueller"}] * 2


def test_greater_or_equal_and_less_or_equal_compare_integers(server: RunningServer) -> None:
    """integerOrderingMatch: 50 >= 30 holds (not a string comparison), 20 <= 20 holds."""
    assert found(
        server,
        "(ixiFaxDailyLimit>=30)",
        "(ixiFaxDailyLimit>=51)",
        "(ixiVoiceDailyLimit<=20)",
        "(ixiVoiceDailyLimit<=19)",
    ) == [{"jmueller", "mhuber"}, set(), {"aweiss"}, set()]


def test_approximate_match_finds_the_exact_value(server: RunningServer) -> None:
    """An approx filter (~=) is at least an equality match."""
    assert found(server, "(sn~=huber)") == [{"mhuber"}]


def test_extensible_match_with_a_named_rule(server: RunningServer) -> None:
    """(attr:rule:=value) (RFC 4511 §4.5.1.7.7): caseExactMatch tells 'Huber' from 'huber';
    integerOrderingMatch is true for values less than the assertion."""
    assert found(
        server,
        "(sn:caseExactMatch:=Huber)",
        "(sn:caseExactMatch:=huber)",
        "(ixiFaxDailyLimit:integerOrderingMatch:=51)",
    ) == [{"mhuber"}, set(), {"jmueller", "mhuber"}]


def test_extensible_match_on_dn_attributes(server: RunningServer) -> None:
    """(attr:dn:=value) also matches the values in the entry's DN: every user under ou=people."""
    assert found(server, "(ou:dn:=people)", "(:dn:caseIgnoreMatch:=people)") == [DEMO_UIDS] * 2


def test_presence_filter_finds_only_entries_with_the_attribute(server: RunningServer) -> None:
    """(attr=*) matches exactly the users holding a value (RFC 4511 present)."""
    assert found(server, "(ixiVoiceNumber=*)", "(ixiSmsNumber=*)") == [{"aweiss"}, {"lschaefer"}]


def test_and_or_not_combine(server: RunningServer) -> None:
    """Boolean filters: in Olching, not in Vertrieb, and one of three uids."""
    query = "(&(l=Olching)(!(departmentNumber=Vertrieb))(|(uid=mhuber)(uid=jmueller)(uid=aweiss)))"
    assert found(server, query) == [{"mhuber", "aweiss"}]


def test_filter_on_an_unknown_attribute_matches_nothing(server: RunningServer) -> None:
    """RFC 4511 §4.5.1.7: an unrecognised attribute evaluates to Undefined, and so does its
    negation: neither is an error, neither matches."""
    assert found(server, "(noSuchAttribute=x)", "(!(noSuchAttribute=x))") == [set(), set()]


def test_size_limit_returns_partial_results_with_size_limit_exceeded(
    server: RunningServer,
) -> None:
    """-z 3 on eight matches: exit 4 (sizeLimitExceeded) after exactly three entries."""
    done, entries = search(server, PEOPLE, "-z", "3", "(objectClass=inetOrgPerson)", "1.1")
    assert done.returncode == 4
    assert "Size limit exceeded" in done.stderr
    assert len(uids(entries)) == 3
    assert uids(entries) <= DEMO_UIDS


def test_size_limit_equal_to_the_matches_is_success(server: RunningServer) -> None:
    """A size limit that is not exceeded is no error: -z 8 with eight users exits 0."""
    done, entries = search(server, PEOPLE, "-z", "8", "(objectClass=inetOrgPerson)", "1.1")
    assert done.returncode == 0, done.stderr
    assert uids(entries) == DEMO_UIDS


def test_no_attribute_list_returns_user_attributes_only(server: RunningServer) -> None:
    """Without an attribute list (like '*'): user attributes, no operational ones."""
    done, entries = search(server, f"uid=mhuber,{PEOPLE}", "(objectClass=*)", scope="base")
    assert done.returncode == 0, done.stderr
    attributes = entries[f"uid=mhuber,{PEOPLE}"]
    assert attributes["mail"] == ["maria.huber@example.com"]
    assert attributes["ixiFaxInboundFormat"] == ["tif", "pdf"]
    assert not OPERATIONAL & set(attributes)


def test_plus_returns_operational_attributes_only(server: RunningServer) -> None:
    """'+' (RFC 3673) lists the operational attributes of the entry and no user attribute."""
    done, entries = search(server, f"uid=mhuber,{PEOPLE}", "(objectClass=*)", "+", scope="base")
    assert done.returncode == 0, done.stderr
    attributes = entries[f"uid=mhuber,{PEOPLE}"]
    assert set(attributes) >= OPERATIONAL
    assert not {"objectClass", "uid", "cn", "mail", "ixiFaxInboundFormat"} & set(attributes)
    assert attributes["entryDN"] == [f"uid=mhuber,{PEOPLE}"]
    assert attributes["structuralObjectClass"] == ["inetOrgPerson"]
    assert attributes["hasSubordinates"] == ["FALSE"]
    assert attributes["subschemaSubentry"] == ["cn=Subschema"]


def test_star_and_plus_together_return_both(server: RunningServer) -> None:
    """'*' '+' returns user and operational attributes; ou=people has subordinates."""
    done, entries = search(server, PEOPLE, "(objectClass=*)", "*", "+", scope="base")
    assert done.returncode == 0, done.stderr
    attributes = entries[PEOPLE]
    assert attributes["ou"] == ["people"]
    assert attributes["hasSubordinates"] == ["TRUE"]
    assert set(attributes) >= OPERATIONAL


def test_one_dot_one_returns_no_attributes(server: RunningServer) -> None:
    """'1.1' (RFC 4511 §4.5.1.8) asks for DNs only."""
    done, entries = search(server, f"uid=mhuber,{PEOPLE}", "(objectClass=*)", "1.1", scope="base")
    assert done.returncode == 0, done.stderr
    assert entries == {f"uid=mhuber,{PEOPLE}": {}}


def test_named_attributes_are_returned_by_any_of_their_names(server: RunningServer) -> None:
    """Asking for 'fax' and 'MAIL' returns exactly those two attributes and nothing else."""
    done, entries = search(
        server, f"uid=jmueller,{PEOPLE}", "(objectClass=*)", "fax", "MAIL", scope="base"
    )
    assert done.returncode == 0, done.stderr
    values = {name.lower(): v for name, v in entries[f"uid=jmueller,{PEOPLE}"].items()}
    assert values == {
        "facsimiletelephonenumber": ["+49 8142 4799-123"],
        "mail": ["juergen.mueller@example.com"],
    }


def test_types_only_returns_attribute_names_without_values(server: RunningServer) -> None:
    """-A (typesOnly): the attribute names come back with empty values."""
    done, entries = search(
        server, f"uid=mhuber,{PEOPLE}", "-A", "(objectClass=*)", "sn", "mail", scope="base"
    )
    assert done.returncode == 0, done.stderr
    assert entries[f"uid=mhuber,{PEOPLE}"] == {"sn": [""], "mail": [""]}


def test_deref_aliases_and_a_time_limit_are_accepted(server: RunningServer) -> None:
    """-a always and -l 30 are honoured requests, not errors, on a directory without aliases."""
    done, entries = search(server, PEOPLE, "-a", "always", "-l", "30", "(uid=mhuber)", "1.1")
    assert done.returncode == 0, done.stderr
    assert uids(entries) == {"mhuber"}


def test_root_dse_is_readable_anonymously_and_lists_capabilities(server: RunningServer) -> None:
    """The root DSE (RFC 4512 §5.1): naming context, LDAPv3, paged results, WhoAmI, passwd."""
    done, entries = search(server, "", "(objectClass=*)", "+", scope="base", bind=False)
    assert done.returncode == 0, done.stderr
    dse = entries[""]
    assert dse["namingContexts"] == [BASE_DN]
    assert dse["supportedLDAPVersion"] == ["3"]
    assert dse["subschemaSubentry"] == ["cn=Subschema"]
    assert PAGED_RESULTS_OID in dse["supportedControl"]
    assert {WHO_AM_I_OID, PASSWORD_MODIFY_OID} <= set(dse["supportedExtension"])
    assert dse["vendorName"] == ["ixidir"]
    assert dse["vendorVersion"]
    assert dse["supportedFeatures"]


def test_subschema_lists_the_ixi_schema_to_anonymous_clients(server: RunningServer) -> None:
    """cn=Subschema's attributeTypes and objectClasses (RFC 4512 §4.2) hold the ixi schema."""
    done, entries = search(
        server,
        "cn=Subschema",
        "(objectClass=subschema)",
        "attributeTypes",
        "objectClasses",
        scope="base",
        bind=False,
    )
    assert done.returncode == 0, done.stderr
    subschema = entries["cn=Subschema"]
    limit = [t for t in subschema["attributeTypes"] if "'ixiFaxDailyLimit'" in t]
    assert len(limit) == 1
    assert "SYNTAX 1.3.6.1.4.1.1466.115.121.1.27" in limit[0]
    assert "SINGLE-VALUE" in limit[0]
    user = [c for c in subschema["objectClasses"] if "'ixiUmsUser'" in c]
    assert len(user) == 1
    assert "AUXILIARY" in user[0]


def test_subschema_plus_returns_all_four_schema_lists(server: RunningServer) -> None:
    """'+' on cn=Subschema returns attributeTypes, objectClasses, ldapSyntaxes, matchingRules."""
    done, entries = search(server, "cn=Subschema", "(objectClass=*)", "+", scope="base")
    assert done.returncode == 0, done.stderr
    subschema = entries["cn=Subschema"]
    for name in ("attributeTypes", "objectClasses", "ldapSyntaxes", "matchingRules"):
        assert subschema.get(name), name
    assert any("telephoneNumberMatch" in rule for rule in subschema["matchingRules"])


def test_paged_results_return_every_entry_in_pages(server: RunningServer) -> None:
    """-E pr=2/noprompt (RFC 2696): pages of two, each with a cookie, the last cookie empty."""
    done, entries = search(
        server, PEOPLE, "-E", "pr=2/noprompt", "(objectClass=inetOrgPerson)", "1.1"
    )
    assert done.returncode == 0, done.stderr
    assert uids(entries) == DEMO_UIDS
    cookies = [line for line in done.stdout.splitlines() if line.startswith("# pagedresults")]
    assert len(cookies) == 4  # 8 entries, 2 per page
    assert cookies[-1].rstrip().endswith("cookie=")
    entry_lines = [line for line in done.stdout.splitlines() if line.startswith("dn:")]
    assert len(entry_lines) == 8  # no entry repeated across pages


def test_unknown_critical_control_is_unavailable_critical_extension(
    server: RunningServer,
) -> None:
    """A critical control the server does not know fails the search with 12 and no entries."""
    done, entries = search(server, PEOPLE, "-e", "!1.2.3.4", "(uid=mhuber)", "1.1")
    assert done.returncode == 12
    assert entries == {}
    assert "Critical extension is unavailable" in done.stderr


def test_unknown_non_critical_control_is_ignored(server: RunningServer) -> None:
    """RFC 4511 §4.1.11: a non-critical control the server does not know is ignored."""
    done, entries = search(server, PEOPLE, "-e", "1.2.3.4", "(uid=mhuber)", "1.1")
    assert done.returncode == 0, done.stderr
    assert uids(entries) == {"mhuber"}


def test_object_class_top_and_superclasses_match_what_init_created(server: RunningServer) -> None:
    """The entries `ixidir init` makes (dcObject/organization, ou=people) list no `top`, yet
    `(objectClass=top)` finds them, as slapd does (RFC 4512 §2.4.1); so does a superclass."""
    done, entries = search(server, BASE_DN, "(|(objectClass=top)(cn=nobody))", "1.1")
    assert done.returncode == 0, done.stderr
    assert {BASE_DN, PEOPLE} <= set(entries)
    assert uids(entries) == DEMO_UIDS
    done, entries = search(server, BASE_DN, "(objectClass=person)", "1.1")
    assert done.returncode == 0, done.stderr
    assert uids(entries) == DEMO_UIDS
    assert BASE_DN not in entries


def test_attribute_list_at_object_class_returns_what_the_class_allows(
    server: RunningServer,
) -> None:
    """RFC 4529, which the root DSE advertises (feature 1.3.6.1.4.1.4203.1.5.2): @inetOrgPerson
    returns the attributes inetOrgPerson and its superclasses allow, @ixiUmsUser the ixi ones."""
    done, root = search(server, "", "(objectClass=*)", "supportedFeatures", scope="base")
    assert "1.3.6.1.4.1.4203.1.5.2" in root[""]["supportedFeatures"]
    done, entries = search(server, PEOPLE, "(uid=jmueller)", "@inetOrgPerson")
    assert done.returncode == 0, done.stderr
    (attributes,) = entries.values()
    assert {"objectClass", "cn", "sn", "mail", "uid", "facsimileTelephoneNumber"} <= set(attributes)
    assert not any(name.startswith("ixi") for name in attributes)
    done, entries = search(server, PEOPLE, "(uid=jmueller)", "@ixiUmsUser")
    (attributes,) = entries.values()
    assert attributes
    assert all(n == "objectClass" or n.startswith("ixi") for n in attributes)
