#!/usr/bin/env python3
"""Opens N keep-alive connections to a gateway and leaves them idle.

Each connection sends one GET /healthz and reads its whole 200 (so the server holds a complete
keep-alive session, not only an accepted socket), then stays open without traffic. Prints
"ready N" once every connection has its answer, then holds them until stdin closes (the
gateway's idle timeout is 10 s: the caller measures before that).
  idle_conns.py HOST PORT N
"""
import select
import socket
import sys
import time

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"


def complete(data: bytes) -> bool:
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return len(rest) >= length


def main() -> int:
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    socks = {}
    pending = {}
    poller = select.epoll()

    def drain(timeout: float) -> None:
        for fd, _ in poller.poll(timeout):
            try:
                chunk = socks[fd].recv(4096)
            except BlockingIOError:
                continue
            pending[fd] += chunk
            if not chunk or complete(pending[fd]):
                if not chunk:
                    raise SystemExit(f"idle_conns: connection closed before its answer")
                del pending[fd]
                poller.unregister(fd)

    for _ in range(count):
        s = socket.create_connection((host, port))
        s.setblocking(False)
        s.send(REQUEST)
        socks[s.fileno()] = s
        pending[s.fileno()] = b""
        poller.register(s.fileno(), select.EPOLLIN)
        if len(pending) > 256:  # keep the accept backlog short
            drain(0.01)
    deadline = time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        drain(0.5)
    if pending:
        print(f"idle_conns: {len(pending)} connections got no answer", file=sys.stderr)
        return 1
    print(f"ready {len(socks)}", flush=True)
    sys.stdin.read()  # held until the caller closes our stdin
    return 0


if __name__ == "__main__":
    sys.exit(main())
