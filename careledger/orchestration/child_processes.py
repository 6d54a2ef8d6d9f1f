"""Child processes that die with the careledger process that started them.

``careledger refresh`` (and every Dagster asset, benchmark and test that builds the warehouse)
runs dbt in a child process. Killed with SIGKILL, the parent cannot stop that child, which
went on writing the warehouse for minutes after the warehouse lock (an ``flock`` the kernel
drops when its holder dies) had been released: the lock no longer protected anything.

Every dbt careledger starts is ``careledger-dbt`` (``config.dbt_executable``): this module's
:func:`dbt_main`, which first asks the Linux kernel to SIGKILL it the moment its parent dies
(``prctl(PR_SET_PDEATHSIG)``, kept across ``exec`` and read by the kernel however the parent
dies, SIGKILL included), then runs dbt's own command line in the same process. A parent that
died before the request was made (the child was still starting) is noticed by
:func:`parent_gone`, and the child stops before it opens anything.

The kernel sends the signal when the *thread* that started the child ends: careledger starts
dbt from the thread that waits for it (the CLI's main thread, or a Dagster step's), never from
a short-lived helper thread. Where there is no ``prctl`` (not Linux) the request is a no-op;
the lock's worker record (``locking.register_worker``) still makes the next writer wait for an
orphaned dbt instead of opening the warehouse beside it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

from careledger import config

#: linux/prctl.h
PR_SET_PDEATHSIG = 1

#: the exit code of a child whose parent died before it started its work
EXIT_PARENT_GONE = 75


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent dies (Linux
    ``PR_SET_PDEATHSIG``); False where the platform has no such request."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(err)}")
    return True


def parent_gone() -> bool:
    """Whether the careledger process that started this child (``CARELEDGER_PARENT_PID``) died
    before :func:`die_with_parent` was in force: this process was then handed to init or a
    subreaper, and nobody is waiting for its work."""
    from careledger.orchestration.locking import pid_alive

    expected = config.parent_pid()
    if expected is None or expected == os.getppid():
        return False
    return not pid_alive(expected)


def dbt_main() -> None:
    """``careledger-dbt``: dbt's command line, in a process that dies with its parent."""
    die_with_parent()
    if parent_gone():
        print(
            f"careledger-dbt: the careledger process {config.parent_pid()} that started dbt has died; not starting",
            file=sys.stderr,
        )
        sys.exit(EXIT_PARENT_GONE)
    from dbt.cli.main import cli

    sys.exit(cli())
