"""Which Landlock rule does CUDA's start need? For each variant: import torch (loaded before the
restriction, as hpflow-worker links libtorch), restrict this process to the worker's rules
(`src/train/sandbox/scope.rs`) plus the variant's, then start CUDA. `scripts/gpu-check run`
calls it when a sandboxed `device: cuda` run fails; it found the /proc truncate right.

Usage (on the GPU machine, torch's python): python3 scripts/gpu-sandbox-probe.py
"""
import ctypes
import os
import subprocess
import sys

EXE, WRITE, READ_FILE, READ_DIR, MAKE_REG, TRUNCATE, IOCTL_DEV = 1, 2, 4, 8, 1 << 8, 1 << 14, 1 << 15
ALL = (1 << 16) - 1  # every file-system right of Landlock ABI 5
READ = EXE | READ_FILE | READ_DIR
FILE_RIGHTS = EXE | WRITE | READ_FILE | TRUNCATE | IOCTL_DEV
DEV = READ | WRITE | TRUNCATE | IOCTL_DEV
# The worker's rules as scope.rs writes them (without the job's own folders).
BASE = [(p, READ) for p in ["/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc", "/opt", "/sys"]] + [
    ("/dev", DEV), ("/proc", READ | WRITE | TRUNCATE), ("/dev/shm", ALL)]
VARIANTS = {
    "unrestricted": None,
    "the worker's rules": [],
    "+ / everything": [("/", ALL)],
    "+ /proc everything": [("/proc", ALL)],
    "+ /dev everything": [("/dev", ALL)],
    "+ /sys everything": [("/sys", ALL)],
    "+ /tmp /run /var /root everything": [(p, ALL) for p in ["/tmp", "/run", "/var", "/root"]],
}


class PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def restrict(rules):
    libc = ctypes.CDLL(None, use_errno=True)
    handled = ctypes.c_uint64(ALL)
    fd = libc.syscall(444, ctypes.byref(handled), 8, 0)  # landlock_create_ruleset
    if fd < 0:
        raise SystemExit(f"no Landlock here (errno {ctypes.get_errno()})")
    for path, access in rules:
        try:
            pfd = os.open(path, os.O_PATH)
        except OSError:
            continue
        if not os.path.isdir(path):
            access &= FILE_RIGHTS
        libc.syscall(445, fd, 1, ctypes.byref(PathBeneath(access, pfd)), 0)  # landlock_add_rule
    libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    if libc.syscall(446, fd, 0) != 0:  # landlock_restrict_self
        raise SystemExit(f"landlock_restrict_self failed (errno {ctypes.get_errno()})")


if len(sys.argv) > 1:
    import torch

    extra = VARIANTS[sys.argv[1]]
    if extra is not None:
        restrict(BASE + extra)
    try:
        torch.zeros(1, device="cuda")
        print(f"{sys.argv[1]:36s} CUDA starts")
    except Exception as e:  # noqa: BLE001 (any failure is the answer)
        print(f"{sys.argv[1]:36s} CUDA fails: {str(e).splitlines()[0][:120]}")
    sys.exit(0)
print("Landlock ABI", ctypes.CDLL(None).syscall(444, None, 0, 1))
for v in VARIANTS:
    subprocess.run([sys.executable, __file__, v], timeout=120, stderr=subprocess.DEVNULL)
