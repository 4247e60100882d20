#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run fence_scsi many times from one Python start-up (nested guests).

Guest helper of test-qemu-client-libiscsi-and-fence-scsi.sh.  Under two
levels of TCG one Python start-up that imports fence_scsi's modules
(fencing.py, logging, subprocess, ...) takes minutes, most of a
fence_scsi call.  This server loads /usr/sbin/fence_scsi once, as a
module (its `if __name__ == "__main__"` guard keeps main() from running),
then forks once per request; the child runs fence_scsi's own main() with
the request's arguments as sys.argv, exactly as `fence_scsi ARGS` would,
and exits with its status.  fence_scsi's code, options, sg_persist and
sg_turs calls are the real ones; only the interpreter's start-up is
shared.  The fork also keeps every call independent: main() changes
fencing's option tables and logging set-up, and each child starts from
the state before the first call.

Usage: fence-zygote.py DIR [AGENT]
  Creates DIR/req (a FIFO), writes DIR/ready when the agent is loaded,
  then serves requests until it reads one with no arguments.
A request is one write to DIR/req of NUL-terminated fields:
  RC-FIFO OUT-FILE ARG...
The child's stdout and stderr go to OUT-FILE; the exit status is written
as a line to RC-FIFO (created by the client; opened after the child
ended).  integration/guest/role-client.sh's fence() is the client.
"""

import importlib.machinery
import importlib.util
import os
import sys


def load(path):
    # The agent has no .py suffix: load it with an explicit source
    # loader under a name other than __main__.
    loader = importlib.machinery.SourceFileLoader("fence_agent", path)
    spec = importlib.util.spec_from_loader("fence_agent", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def exit_code(code):
    """sys.exit()'s argument as the process exit status it gives."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def run_child(mod, agent, out, args):
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.argv = [agent] + args
    rc = 0
    try:
        mod.main()
    except SystemExit as e:
        rc = exit_code(e.code)
    except BaseException:  # what an uncaught exception would print
        import traceback
        traceback.print_exc()
        rc = 1
    # fencing's atexit handler only closes stdout; flush what the agent
    # and its logging wrote, then leave without the parent's exit path.
    try:
        import logging
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(rc)


def main():
    if len(sys.argv) not in (2, 3):
        print("usage: fence-zygote.py DIR [AGENT]", file=sys.stderr)
        return 2
    d = sys.argv[1]
    agent = sys.argv[2] if len(sys.argv) == 3 else "/usr/sbin/fence_scsi"
    sys.dont_write_bytecode = True
    os.makedirs(d, exist_ok=True)
    req = os.path.join(d, "req")
    if not os.path.exists(req):
        os.mkfifo(req)
    mod = load(agent)
    ready = os.path.join(d, "ready")
    with open(ready + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(ready + ".tmp", ready)
    while True:
        # One open per request: the client's single write (well under
        # PIPE_BUF) arrives whole, then its close ends the read.
        with open(req, "rb") as f:
            data = f.read()
        fields = data.split(b"\0")
        if fields and fields[-1] == b"":
            fields.pop()
        if len(fields) < 2:
            return 0
        rcfifo, out = os.fsdecode(fields[0]), os.fsdecode(fields[1])
        args = [os.fsdecode(a) for a in fields[2:]]
        if not args:
            return 0
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            run_child(mod, agent, out, args)
        _, status = os.waitpid(pid, 0)
        rc = os.waitstatus_to_exitcode(status)
        if rc < 0:
            rc = 128 - rc
        with open(rcfifo, "w") as f:
            f.write("%d\n" % rc)


if __name__ == "__main__":
    sys.exit(main())
