#!/bin/bash
# Background transfers yield, shown on this host's own kernel: the test of
# tests/netns/lp_test.sh (namespaces and a veth limited to 50 Mbit/s, made
# and removed by the test; needs root). On a kernel without tcp_lp it checks
# the silent fallback; the VM's e2e suite checks that sockets get TCP-LP.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
exec "$top/tests/netns/lp_test.sh"
