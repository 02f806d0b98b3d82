"""Cleaning records from another directory, and entries an import finds already held."""

from __future__ import annotations

import pytest
from directory.memory_store import MemoryEntryStore
from directory.tree import ADMIN, BASE, make_directory

from ixidir.admin.initialize import first_entries
from ixidir.admin.legacy import Item, ItemRefused, Notes, Plan, clean, plan, write
from ixidir.directory.directory import Directory
from ixidir.directory.requests import AddRequest
from ixidir.dn import DN
from ixidir.ldif import parse_ldif
from ixidir.schema import load_default_schema

OLD = "dc=old,dc=example"
PERSON_X = (("objectClass", (b"inetOrgPerson",)), ("cn", (b"x",)), ("sn", (b"x",)))
INIT_DNS = [BASE, f"cn=admin,{BASE}", f"ou=people,{BASE}", f"cn=ums-defaults,{BASE}"]


def move(text: str) -> str:
    dn = DN.parse(text)
    if [str(r).lower() for r in dn.rdns[-2:]] != ["dc=old", "dc=example"]:
        raise ValueError(text)
    return str(DN(dn.rdns[:-2] + DN.parse(BASE).rdns))


def items(text: str, *, rebase: bool = False) -> list[Item]:
    made = []
    for record in parse_ldif(text):
        grouped: dict[str, list[bytes]] = {}
        for name, value in record.attributes:
            grouped.setdefault(name, []).append(value)
        dn = move(record.dn) if rebase else record.dn
        request = AddRequest(dn, tuple((k, tuple(v)) for k, v in grouped.items()))
        made.append(Item(request, record))
    return made


@pytest.fixture
def directory() -> Directory:
    made = make_directory(MemoryEntryStore())
    made.add_many(ADMIN, first_entries(BASE, b"pw", country_code="49", area_code="8142",
                                       timezone="Europe/Berlin"))  # fmt: skip
    return made


PERSON = f"""\
dn: uid=akoch,ou=People,{OLD}
objectClass: inetOrgPerson
objectClass: posixAccount
uid: akoch
cn: Anna Koch
sn: Koch
manager: uid=boss,ou=People,{OLD}
seeAlso: cn=elsewhere,o=other
uidNumber: 1001
cn;lang-de: Anna
entryCSN: 20240101000000.000000Z#000000#000#000000
structuralObjectClass: inetOrgPerson
entryUUID: 4bc6568e-7f7f-1041-8add-ff73df831947
creatorsName: cn=admin,{OLD}
"""


def test_rebase_moves_dn_values_keeps_history_and_drops_the_old_servers_bookkeeping() -> None:
    notes = Notes()
    (item,) = items(PERSON, rebase=True)
    cleaned = dict(
        clean(item, schema=load_default_schema(), move=move, notes=notes).request.attributes
    )
    assert cleaned["manager"] == (f"uid=boss,ou=People,{BASE}".encode(),)
    assert cleaned["seeAlso"] == (b"cn=elsewhere,o=other",)
    assert cleaned["creatorsName"] == (f"cn=admin,{BASE}".encode(),)
    assert cleaned["entryUUID"] == (b"4bc6568e-7f7f-1041-8add-ff73df831947",)
    for gone in ("entryCSN", "structuralObjectClass"):
        assert gone not in cleaned
    # What our schema does not know is left for ixidir.admin.unknowns to refuse or drop.
    assert cleaned["objectClass"] == (b"inetOrgPerson", b"posixAccount")
    assert cleaned["uidNumber"] == (b"1001",)
    assert cleaned["cn;lang-de"] == (b"Anna",)


def test_notes_name_each_dropped_bookkeeping_attribute_once() -> None:
    notes = Notes()
    for item in items(PERSON + "\n" + PERSON.replace("akoch", "bweber"), rebase=True):
        clean(item, schema=load_default_schema(), move=move, notes=notes)
    assert sum("entryCSN" in line for line in notes.lines) == 1


def test_rebase_skips_our_containers_but_not_a_clashing_person(directory: Directory) -> None:
    text = (
        f"dn: {OLD}\nobjectClass: domain\ndc: old\n\n"
        f"dn: ou=People,{OLD}\nobjectClass: organizationalUnit\nou: People\n\n"
        f"dn: uid=x,ou=People,{OLD}\nobjectClass: inetOrgPerson\ncn: x\nsn: x\n"
    )
    directory.add(ADMIN, AddRequest(f"uid=x,ou=people,{BASE}", PERSON_X))
    notes = Notes()
    chosen = plan(items(text, rebase=True), directory=directory, init_dns=INIT_DNS, rebase=True,
                  notes=notes)  # fmt: skip
    assert [item.request.dn for item in chosen.additions] == [f"uid=x,ou=People,{BASE}"]
    assert [line.split(":")[0] for line in notes.lines] == [
        f"skipped {BASE}",
        f"skipped ou=People,{BASE}",
    ]


def test_identical_entry_is_skipped_and_a_changed_one_is_left_to_be_refused(
    directory: Directory,
) -> None:
    same = f"dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n"
    changed = f"dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\ndescription: x\n"
    directory.add(ADMIN, AddRequest(f"uid=x,ou=people,{BASE}", (("objectClass", (b"account",)),)))
    assert plan(items(same), directory=directory, init_dns=INIT_DNS, rebase=False,
                notes=Notes()).count == 0  # fmt: skip
    chosen = plan(items(changed), directory=directory, init_dns=INIT_DNS, rebase=False,
                  notes=Notes())  # fmt: skip
    with pytest.raises(ItemRefused, match="already exists"):
        write(directory, ADMIN, chosen, dry_run=False)


def test_backup_replaces_the_entries_of_init_in_a_new_directory(directory: Directory) -> None:
    uuid = "11111111-2222-3333-4444-555555555555"
    backup = f"dn: {BASE}\nobjectClass: domain\ndc: example\nentryUUID: {uuid}\n"
    chosen = plan(
        items(backup), directory=directory, init_dns=INIT_DNS, rebase=False, notes=Notes()
    )
    assert len(chosen.replacements) == 1
    assert write(directory, ADMIN, chosen, dry_run=False) == 1
    base = directory.state.dit.get(directory.state.base_key)
    assert base is not None
    assert base.attributes["entryUUID"] == (uuid.encode(),)
    assert base.attributes["objectClass"] == (b"domain",)


def test_routing_conflict_inside_the_file_names_the_second_holder(directory: Directory) -> None:
    people = f"ou=people,{BASE}"
    text = "".join(
        f"dn: uid={uid},{people}\nobjectClass: inetOrgPerson\ncn: {uid}\nsn: {uid}\n"
        f"facsimileTelephoneNumber: {fax}\n\n"
        for uid, fax in (("a", "+49 8142 1"), ("b", "+49 8142 4799123"), ("c", "+4981424799123"))
    )
    chosen = Plan(items(text))
    with pytest.raises(ItemRefused) as refused:
        write(directory, ADMIN, chosen, dry_run=True)
    assert refused.value.item.request.dn == f"uid=c,{people}"
    assert directory.state.dit.get(directory.state.key_of(DN.parse(f"uid=a,{people}"))) is None
