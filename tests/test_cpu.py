import os

from app.cpu import cpu_cores, generation_threads


def test_cores_are_counted_within_what_this_process_may_use():
    physical, logical = cpu_cores()
    usable = len(os.sched_getaffinity(0))
    assert 1 <= physical <= logical <= usable
    # On Linux, the physical count comes from /proc/cpuinfo: core ids per package.
    ids = set()
    phys = ""
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
        for line in f:
            if line.startswith("physical id"):
                phys = line.split(":")[1].strip()
            elif line.startswith("core id"):
                ids.add((phys, line.split(":")[1].strip()))
    assert physical == min(len(ids) or logical, usable)
    assert generation_threads() == physical
