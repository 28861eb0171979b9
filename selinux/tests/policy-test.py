#!/usr/bin/python3
"""policy-test.py POLICY MODULE.cil: assertions on the hvvss module, TAP output.

POLICY is a binary policy with the module linked in (build-policy.sh),
MODULE.cil the module converted to CIL (what it declares). The queries are
sesearch's (setools TERuleQuery, attributes expanded): "granted" means an
allow rule that is unconditional or whose condition is true with every
boolean at its default; "never" means under the defaults and with the
module's own booleans flipped.
"""

import re
import sys

import setools

D = "hvvssd_t"
results = []


def tap(ok, name, detail=""):
    results.append(ok)
    print(("ok" if ok else "not ok") + " %d - %s" % (len(results), name))
    if detail and not ok:
        for line in detail.splitlines():
            print("#   " + line)


policy = setools.SELinuxPolicy(sys.argv[1])
module_cil = open(sys.argv[2]).read()
defaults = {b.name: b.state for b in policy.bools()}
OUR_BOOLS = ("hvvssd_hooks_unconfined", "hvvssd_find_device_holder")


def states():
    """Boolean states to check "never" rules under: defaults, and ours flipped."""
    yield dict(defaults)
    for b in OUR_BOOLS:
        s = dict(defaults)
        s[b] = not s[b]
        yield s


def active(rule, state):
    try:
        cond = rule.conditional
    except setools.exception.RuleNotConditional:
        return True
    return cond.evaluate(**state) == rule.conditional_block


_by_source = {}


def rules(source=D, target=None, tclass=None):
    """allow rules for source (attributes expanded), one policy scan per source."""
    if source not in _by_source:
        q = setools.TERuleQuery(policy, ruletype=("allow",), source=source, source_indirect=True)
        _by_source[source] = [(r, str(r.tclass), {str(t) for t in r.target.expand()})
                              for r in q.results()]
    out = []
    for r, cls, targets in _by_source[source]:
        if tclass is not None and cls != tclass:
            continue
        if target is not None and target not in targets:
            continue
        out.append(r)
    return out


_cache = {}


def granted_perms(target, tclass, source=D, state=None):
    """Permissions source has on target:tclass (types expanded)."""
    state = state or defaults
    got = set()
    for r in rules(source, target, tclass):
        if active(r, state):
            got |= set(r.perms)
    return got


def expect(target, tclass, perms, source=D, why=""):
    got = granted_perms(target, tclass, source)
    missing = set(perms) - got
    tap(not missing, "%s -> %s:%s { %s }%s" % (source, target, tclass, " ".join(sorted(perms)),
                                              " (" + why + ")" if why else ""),
        "missing: " + " ".join(sorted(missing)))


def types_with(attr):
    return {t for t in policy.types() if attr in {a.name for a in t.attributes()}}


# ---------------------------------------------------------------- module shape

declared = set(re.findall(r"^\(type (\S+)\)", module_cil, re.M))
tap(declared and all(t.startswith("hvvssd_") for t in declared),
    "module declares only hvvssd_* types: " + " ".join(sorted(declared)))
tap(not any(t.startswith("hypervvssd_") or t.startswith("hyperv_") for t in declared),
    "module does not redeclare the distribution's hypervvssd_*/hyperv_* types")
tap(not re.search(r"\(typeattributeset cil_gen_require (hypervvssd_t|hypervvssd_exec_t)\)",
                  module_cil),
    "module does not use the distribution's hypervvssd_t")
for b, dflt in (("hvvssd_hooks_unconfined", True), ("hvvssd_find_device_holder", False)):
    tap(defaults.get(b) is dflt, "boolean %s exists, default %s" % (b, "on" if dflt else "off"))

tap(D in {t.name for t in types_with("daemon")}, "hvvssd_t is a daemon domain")
tc = list(setools.TERuleQuery(policy, ruletype=("type_transition",), source="init_t",
                              target="hvvssd_exec_t", tclass=["process"]).results())
tap(any(str(r.default) == D for r in tc), "init_t enters hvvssd_t on hvvssd_exec_t")

# ---------------------------------------------------------------- needed permissions

caps = granted_perms("hvvssd_t", "capability")
tap({"sys_admin", "dac_read_search", "chown", "sys_ptrace"} <= caps,
    "capability sys_admin dac_read_search chown sys_ptrace")

# The VSS device, both labellings where the type exists.
for dev in ("hyperv_vss_device_t", "hypervvssd_device_t"):
    try:
        policy.lookup_type(dev)
    except setools.exception.InvalidType:
        print("# %s not in this policy (other distribution's name)" % dev)
        continue
    expect(dev, "chr_file", {"open", "read", "write", "ioctl", "getattr"}, why="VSS channel")
expect("device_t", "dir", {"search", "getattr"}, why="/dev/vmbus")

# Mount points: every file and filesystem type, dir open/read/ioctl.
need = {"open", "read", "ioctl", "getattr", "search"}
all_types = types_with("file_type") | types_with("filesystem_type") | {policy.lookup_type("unlabeled_t")}
dir_perms = {}
for r in rules(D, None, "dir"):
    if active(r, defaults):
        for t in r.target.expand():
            dir_perms.setdefault(str(t), set()).update(r.perms)
short = []
for t in sorted(all_types, key=str):
    miss = need - dir_perms.get(str(t), set())
    if miss:
        short.append("%s: %s" % (t, " ".join(sorted(miss))))
tap(not short, "dir { open read ioctl getattr search } on all %d file/filesystem types" % len(all_types),
    "\n".join(short[:30]))
fs_perms = {}
for r in rules(D, None, "filesystem"):
    if active(r, defaults):
        for t in r.target.expand():
            fs_perms.setdefault(str(t), set()).update(r.perms)
fs_short = [str(t) for t in types_with("filesystem_type")
            if "getattr" not in fs_perms.get(str(t), set())]
tap(not fs_short, "filesystem getattr on every filesystem type", " ".join(fs_short[:30]))

expect("init_t", "file", {"open", "read"}, why="/proc/1/mountinfo")
expect("init_t", "lnk_file", {"read"}, why="/proc/1/root")
expect("init_t", "dir", {"search"}, why="/proc/1")
expect("nsfs_t", "file", {"getattr"}, why="/proc/1/ns/mnt")
for t in ("shell_exec_t", "bin_t"):
    expect(t, "file", {"execute", "open", "read"}, why="a hook's interpreter")
expect("sysfs_t", "file", {"open", "read"}, why="/sys/dev/block, loop backing_file, channel attributes")
expect("sysfs_t", "lnk_file", {"read"})
expect("fixed_disk_device_t", "blk_file", {"getattr"}, why="stat of block device nodes")

# Configuration: read, never write.
expect("hvvssd_conf_t", "file", {"open", "read", "getattr"})
expect("hvvssd_conf_t", "dir", {"search", "read", "open"})

# Runtime directory, state records, control socket.
tt = [r for r in setools.TERuleQuery(policy, ruletype=("type_transition",), source=D,
                                     target="var_run_t", tclass=["dir"]).results()]
tap(any(str(r.default) == "hvvssd_runtime_t" for r in tt),
    "type_transition hvvssd_t var_run_t:dir hvvssd_runtime_t (\"hyperv-vss\")")
expect("var_run_t", "dir", {"add_name", "write", "search"})
expect("hvvssd_runtime_t", "dir", {"create", "add_name", "remove_name", "write", "setattr", "search"})
expect("hvvssd_runtime_t", "file", {"create", "write", "rename", "unlink", "read", "open"})
expect("hvvssd_runtime_t", "sock_file", {"create", "unlink", "setattr", "getattr", "write"})
expect("hvvssd_t", "unix_stream_socket", {"create", "bind", "listen", "accept", "getopt", "read", "write"},
       why="control socket, SO_PEERCRED/SO_PEERGROUPS")
expect("tmpfs_t", "filesystem", {"getattr"}, why="fstatfs of the state directory")

# Hooks.
expect("hvvssd_hook_exec_t", "dir", {"search", "read", "open", "getattr"})
expect("hvvssd_hook_exec_t", "file", {"execute", "getattr", "open", "read"})
expect("hvvssd_hook_t", "process", {"transition", "sigkill", "signal"})
expect("hvvssd_hook_exec_t", "file", {"entrypoint"}, source="hvvssd_hook_t")
expect("hvvssd_t", "process", {"sigchld"}, source="hvvssd_hook_t")
expect("hvvssd_t", "fifo_file", {"write"}, source="hvvssd_hook_t", why="hook output pipe")
tt = [r for r in setools.TERuleQuery(policy, ruletype=("type_transition",), source=D,
                                     target="hvvssd_hook_exec_t", tclass=["process"]).results()
      if active(r, defaults)]
tap(any(str(r.default) == "hvvssd_hook_t" for r in tt), "type_transition to hvvssd_hook_t on hooks")
tap("unconfined_domain_type" in {a.name for a in policy.lookup_type("hvvssd_hook_t").attributes()},
    "hvvssd_hook_t is unconfined")
no_hooks = dict(defaults, hvvssd_hooks_unconfined=False)
tap("transition" not in granted_perms("hvvssd_hook_t", "process", state=no_hooks),
    "hvvssd_hooks_unconfined=off: no transition to hvvssd_hook_t")

# Logging and sd_notify.
expect("devlog_t", "sock_file", {"write"}, why="syslog")
expect("syslogd_t", "unix_dgram_socket", {"sendto"})
expect("init_t", "unix_stream_socket", {"write"}, why="stderr: journal stream from systemd")
expect("init_runtime_t", "sock_file", {"write"}, why="/run/systemd/notify")
expect("init_t", "unix_dgram_socket", {"sendto"}, why="sd_notify")

# Clients (hvvssctl runs in its caller's domain).
for client in ("unconfined_t", "sysadm_t"):
    expect("hvvssd_t", "unix_stream_socket", {"connectto"}, source=client, why="hvvssctl")
    expect("hvvssd_runtime_t", "sock_file", {"write"}, source=client, why="hvvssctl")
    expect("hvvssd_runtime_t", "dir", {"search"}, source=client)

# ---------------------------------------------------------------- nothing broad

def never(desc, predicate):
    """predicate(rule) -> offending string or None; checked in every state()."""
    bad = set()
    for st in states():
        for r in rules():
            if active(r, st):
                off = predicate(r)
                if off:
                    bad.add(off)
    tap(not bad, desc, "\n".join(sorted(bad)[:40]))


# execmod on textrel_shlib_t is the base policy's rule for every domain
# (shared libraries with text relocations), not this module's.
never("no execmem/execstack/execheap/execmod",
      lambda r: str(r) if str(r.tclass) == "process" and
      set(r.perms) & {"execmem", "execstack", "execheap"} else
      (str(r) if "execmod" in r.perms and str(r.target) != "textrel_shlib_t" else None))

allowed_caps = {"sys_admin", "dac_read_search", "chown", "sys_ptrace"}
never("capabilities exactly sys_admin dac_read_search chown sys_ptrace (no dac_override, sys_module, ...)",
      lambda r: str(r) if str(r.tclass) in ("capability", "cap_userns") and
      set(r.perms) - allowed_caps else
      (str(r) if str(r.tclass) in ("capability2", "cap2_userns") else None))

never("no domain transition except to hvvssd_hook_t",
      lambda r: str(r) if str(r.tclass) == "process" and
      set(r.perms) & {"transition", "dyntransition"} and str(r.target) != "hvvssd_hook_t" else None)

never("no process ptrace on any domain (sys_ptrace only passes the capability check), no setcurrent, setexec or setfscreate",
      lambda r: str(r) if str(r.tclass) == "process" and
      set(r.perms) & {"ptrace", "setcurrent", "setexec", "setfscreate", "setsockcreate"} else None)

never("no execute_no_trans (nothing runs in hvvssd_t but hvvssd)",
      lambda r: str(r) if str(r.tclass) == "file" and "execute_no_trans" in r.perms
      and str(r.target) not in ("hvvssd_exec_t",) else None)

# Everything hvvssd_t may modify, by type. Device nodes it writes are the
# channel and the usual /dev/null, terminals for the console fallback.
WRITE = {"write", "append", "create", "unlink", "rename", "setattr", "link",
         "add_name", "remove_name", "rmdir", "reparent", "relabelfrom", "relabelto", "mounton"}
FILE_CLASSES = ("file", "dir", "lnk_file", "sock_file", "fifo_file", "chr_file", "blk_file")
writable_ok = {
    "hvvssd_runtime_t", "var_run_t",                      # /run/hyperv-vss
    "hyperv_vss_device_t", "hypervvssd_device_t",        # the channel
    "null_device_t", "devlog_t", "init_runtime_t",        # /dev/null, syslog, sd_notify
    "console_device_t", "tty_device_t", "devtty_t", "ptmx_t", "devpts_t",  # console fallback
    "hvvssd_t", "init_t", "initrc_t", "hvvssd_hook_t",    # pipes and own /proc
    # Given to every domain or daemon by the base policy's templates:
    "zero_device_t",           # /dev/zero (all domains)
    "setrans_runtime_t",       # mcstrans socket (all domains)
    "initrc_devpts_t",         # init script terminal (all daemons)
    "init_tmpfs_t",            # systemd StandardInputText memfd (init_domain)
    "nscd_runtime_t",          # nscd socket (init_daemon_domain's nscd_use)
}
never("writes only to /run/hyperv-vss, the channel and logging endpoints (no etc_t, no user content)",
      lambda r: str(r) if str(r.tclass) in FILE_CLASSES and set(r.perms) & WRITE and
      str(r.target) not in writable_ok and not
      # pipes inherited from any domain are fine
      (str(r.tclass) == "fifo_file") else None)

user_types = types_with("user_home_content_type") | types_with("user_home_type") | \
    {policy.lookup_type(t) for t in ("user_home_t", "user_home_dir_t", "etc_t", "shadow_t")}
never("no write to user content, etc_t or shadow_t",
      lambda r: str(r) if str(r.tclass) in FILE_CLASSES and set(r.perms) & WRITE and
      any(t in user_types for t in r.target.expand()) else None)
never("no read of regular files of user content or shadow_t (only their directories)",
      lambda r: str(r) if str(r.tclass) == "file" and "read" in r.perms and
      any(t in user_types - {policy.lookup_type("etc_t")} for t in r.target.expand()) else None)
never("no network sockets",
      lambda r: str(r) if str(r.tclass) in ("tcp_socket", "udp_socket", "rawip_socket", "packet_socket")
      and set(r.perms) & {"create", "name_bind", "name_connect", "connect"} and
      str(r.source) == D else None)
never("no kernel module loading or policy changes",
      lambda r: str(r) if (str(r.tclass) == "system" and set(r.perms) & {"module_load", "module_request"}) or
      str(r.tclass) == "security" and set(r.perms) & {"load_policy", "setenforce", "setbool"} else None)

print("1..%d" % len(results))
sys.exit(0 if all(results) else 1)
