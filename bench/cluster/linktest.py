#!/usr/bin/env python3
"""TCP throughput and message time between two emulated devices.

  linktest.py server [--port P] [--once]
  linktest.py client HOST [--port P] [--seconds S] [--sizes 24576,1048576]

The client streams data for S seconds (bulk rate), then for each size sends
messages of that many bytes, each answered by one byte from the server, and
prints the mean time per message, back to back and after an idle gap, next
to its serialization time at 100 Mbit/s and 1 Gbit/s. There is no latency emulation: the round trip is that of the
veth/bridge path."""
import argparse
import socket
import struct
import time

CHUNK = 1 << 16


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        b = s.recv(min(CHUNK, n - len(buf)))
        if not b:
            raise ConnectionError("peer closed")
        buf += b
    return buf


def serve(port, once):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(1)
    while True:
        c, _ = ls.accept()
        quit_ = False
        with c:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                hdr = c.recv(9, socket.MSG_WAITALL)
                if len(hdr) < 9:
                    break
                kind, n = struct.unpack("!cQ", hdr)
                if kind == b"B":  # bulk until the client shuts its side: report the rate seen here
                    got, t_first, t_last = 0, None, None
                    while True:
                        b = c.recv(CHUNK * 16)
                        if not b:
                            break
                        t_last = time.perf_counter()
                        if t_first is None:
                            t_first = t_last
                        got += len(b)
                    rate = got * 8 / (t_last - t_first) if t_last and t_last > t_first else 0.0
                    c.sendall(struct.pack("!dQ", rate, got))
                    break
                if kind == b"M":  # one message of n bytes, answered by one byte
                    recv_exact(c, n)
                    c.sendall(b"k")
                else:  # "Q": the end
                    quit_ = True
                    break
        if once and quit_:
            return


def client(host, port, seconds, sizes, gap):
    s = socket.create_connection((host, port))
    block = b"\0" * (CHUNK * 16)
    s.sendall(struct.pack("!cQ", b"B", 0))
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        s.sendall(block)
    s.shutdown(socket.SHUT_WR)
    rate, got = struct.unpack("!dQ", recv_exact(s, 16))
    s.close()
    print(f"bulk TCP: {rate / 1e6:.1f} Mbit/s ({got / 1e6:.1f} MB received)")
    s = socket.create_connection((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for n in sizes:
        msg = b"\0" * n
        reps = max(5, min(200, int(2e7 // max(n, 1))))
        t0 = time.perf_counter()
        for _ in range(reps):
            s.sendall(struct.pack("!cQ", b"M", n) + msg)
            recv_exact(s, 1)
        dt = (time.perf_counter() - t0) / reps
        # the same after an idle gap: a token bucket refilled by the gap lets
        # up to its burst through at once
        greps = max(3, min(20, reps))
        gtot = 0.0
        for _ in range(greps):
            time.sleep(gap)
            t1 = time.perf_counter()
            s.sendall(struct.pack("!cQ", b"M", n) + msg)
            recv_exact(s, 1)
            gtot += time.perf_counter() - t1
        print(f"message {n:>8} bytes + 1-byte reply: back to back {dt * 1e3:7.3f} ms, "
              f"after {gap * 1e3:.0f} ms idle {gtot / greps * 1e3:7.3f} ms "
              f"(serialization: {n * 8 / 1e8 * 1e3:.3f} ms at 100 Mbit/s, {n * 8 / 1e9 * 1e3:.3f} ms at 1 Gbit/s)")
    s.sendall(struct.pack("!cQ", b"Q", 0))
    s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sv = sub.add_parser("server")
    sv.add_argument("--port", type=int, default=5599)
    sv.add_argument("--once", action="store_true", help="exit when a client ends the test")
    cl = sub.add_parser("client")
    cl.add_argument("host")
    cl.add_argument("--port", type=int, default=5599)
    cl.add_argument("--seconds", type=float, default=3.0)
    cl.add_argument("--sizes", default="3072,24576,262144,1048576")
    cl.add_argument("--gap-ms", type=float, default=50.0, help="idle time before each message of the second test")
    a = ap.parse_args()
    if a.cmd == "server":
        serve(a.port, a.once)
    else:
        client(a.host, a.port, a.seconds, [int(x) for x in a.sizes.split(",")], a.gap_ms / 1e3)


if __name__ == "__main__":
    main()
