"""A private OpenLDAP slapd (Debian's package, back-mdb) on 127.0.0.1, loaded with datagen's users.

Never the system service: the harness writes its own slapd.conf into a temporary folder, loads
the data offline with slapadd, runs /usr/sbin/slapd in the foreground as a child process on a
free port, and removes everything on exit.

facsimileTelephoneNumber gets EQUALITY telephoneNumberMatch (and an eq index) from a patched
copy of core.schema (SCHEMA.md "Facts that shape the design": stock slapd cannot match it).

    python benchmarks/slapd.py 1000      # load 1000 users, start, print the figures, stop
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dataset import ADMIN_DN, ADMIN_PASSWORD, BASE_LDIF, SUFFIX, users_ldif
from processes import HarnessError, exit_on_sigterm, free_port, rss_mib, stop, wait_until_accepting

from ixidir.schema import load_default_schema
from ixidir.schema.export import export_openldap_schema, export_slapd_core_patch

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
SYSTEM_SCHEMA = Path("/etc/ldap/schema")
# mdb reserves the map up front; 4 GiB is sparse on disk and ample for 1M of these users.
MAXSIZE_BYTES = 4 * 1024**3

CONFIG = """\
include {dir}/core.schema
include {system}/cosine.schema
include {system}/inetorgperson.schema
include {dir}/ixi.schema
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
loglevel none
sizelimit 500

database mdb
maxsize {maxsize}
suffix "{suffix}"
rootdn "{rootdn}"
rootpw {rootpw}
directory {dir}/db
index objectClass eq
index uid,mail,cn eq
index facsimileTelephoneNumber eq
"""


@dataclass(frozen=True, slots=True)
class SlapdFigures:
    """What loading and starting cost (seconds, MiB)."""

    users: int
    slapadd_seconds: float
    startup_seconds: float
    rss_mib: float
    db_mib: float


@dataclass(frozen=True, slots=True)
class RunningSlapd:
    port: int
    pid: int
    figures: SlapdFigures

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"


def write_config(directory: Path) -> Path:
    """slapd.conf, the patched core.schema and ixidir's exported ixi schema in DIRECTORY."""
    core = (SYSTEM_SCHEMA / "core.schema").read_text(encoding="utf-8")
    (directory / "core.schema").write_text(export_slapd_core_patch(core), encoding="utf-8")
    ixi = export_openldap_schema(load_default_schema())
    (directory / "ixi.schema").write_text(ixi, encoding="utf-8")
    (directory / "db").mkdir()
    conf = directory / "slapd.conf"
    conf.write_text(
        CONFIG.format(
            dir=directory,
            system=SYSTEM_SCHEMA,
            maxsize=MAXSIZE_BYTES,
            suffix=SUFFIX,
            rootdn=ADMIN_DN,
            rootpw=ADMIN_PASSWORD,
        ),
        encoding="utf-8",
    )
    return conf


def load(conf: Path, users: Path, *, quick: bool = True) -> float:
    """slapadd the base entries and the users (it builds the configured indexes as it goes).

    `quick` is slapadd -q, the usual bulk-load mode (fewer consistency checks while writing,
    schema checks still on). No slapindex is needed: the indexes exist before the data does.
    """
    combined = conf.parent / "load.ldif"
    with combined.open("w", encoding="utf-8") as out:
        out.write(BASE_LDIF)
        with users.open(encoding="utf-8") as source:
            shutil.copyfileobj(source, out)
    started = time.monotonic()
    command = [SLAPADD, *(["-q"] if quick else []), "-f", str(conf), "-l", str(combined)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    combined.unlink()
    if done.returncode != 0:
        raise HarnessError(f"slapadd failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return seconds


@contextmanager
def running_slapd(
    users: int, *, data_dir: Path, quick_load: bool = True, passwords: bool = False
) -> Iterator[RunningSlapd]:
    """A loaded slapd serving USERS datagen users (with {SSHA} passwords if `passwords`);
    stopped and deleted on exit."""
    work = Path(tempfile.mkdtemp(prefix="ixidir-bench-slapd-"))
    try:
        conf = write_config(work)
        ldif = users_ldif(users, data_dir, passwords=passwords)
        slapadd_seconds = load(conf, ldif, quick=quick_load)
        port = free_port()
        started = time.monotonic()
        # -d 0 keeps slapd in the foreground (a child we can wait for), logging nothing.
        process = subprocess.Popen(
            [SLAPD, "-d", "0", "-f", str(conf), "-h", f"ldap://127.0.0.1:{port}/"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            accepted = wait_until_accepting(port, process)
            db_bytes = sum(f.stat().st_blocks * 512 for f in (work / "db").iterdir())
            figures = SlapdFigures(
                users=users,
                slapadd_seconds=slapadd_seconds,
                startup_seconds=accepted - started,
                rss_mib=rss_mib(process.pid),
                db_mib=db_bytes / 1024**2,
            )
            yield RunningSlapd(port=port, pid=process.pid, figures=figures)
        finally:
            stop(process)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("users", type=int)
    parser.add_argument("--data", type=Path, default=Path("/tmp/ixidir-bench-data"))
    args = parser.parse_args()
    exit_on_sigterm()
    args.data.mkdir(parents=True, exist_ok=True)
    with running_slapd(args.users, data_dir=args.data) as slapd:
        print(f"slapd on {slapd.url} (pid {slapd.pid}): {slapd.figures}")


if __name__ == "__main__":
    main()
