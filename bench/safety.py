#!/usr/bin/env python3
"""Hostile-input memory figures for one RawSse build, as the safety issue measured them.

    bench/safety.py PATH/TO/RawSse.dll [--streams 1000] [--publishes 1000] [--idle 0]

Starts the server on a free loopback port (ticker and heartbeats off, logs at Warning), then:
  1. opens STREAMS streams, each subscribing to 32 topics nobody else uses, and reports RSS per stream;
  2. closes them, then sends PUBLISHES publishes of a 1 MiB body whose data is all %0D (each CR frames to a
     7-byte "data: " line) on keep-alive connections, and reports the answers and the peak RSS (VmHWM).
  3. with --idle N: opens N plain streams, and reports RSS per stream 5 s after they connected and again 65 s after
     (the memory return after a burst runs at most once a minute, so the second figure is the settled one).
Loopback only, bounded in count and time; the server is stopped at the end.
"""
import argparse
import os
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def wait_serving(port, deadline):
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                if s.recv(12).startswith(b"HTTP/1.1"):
                    return
        except OSError:
            time.sleep(0.05)
    sys.exit("the server did not start")


def read_until(sock, marker, limit=1 << 20):
    data = b""
    while marker not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise EOFError(data[:200])
        data += chunk
        if len(data) > limit:
            raise ValueError("answer too large")
    return data


def open_stream(port, target):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    return s, read_until(s, b"\n\n")


def read_response(sock):
    head = read_until(sock, b"\r\n\r\n")
    head, _, rest = head.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        rest += sock.recv(length - len(rest))
    return int(head.split(b" ")[1]), head, rest


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dll")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--publishes", type=int, default=1000)
    parser.add_argument("--idle", type=int, default=0)
    args = parser.parse_args()
    attacks(args)
    if args.idle:
        idle(args)


def start(dll):
    port = free_port()
    server = subprocess.Popen(
        ["dotnet", dll, "--port", str(port), "--interval", "0", "--heartbeat", "0", "--log-level", "Warning",
         "--max-connections", "19000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_serving(port, time.time() + 30)
    time.sleep(1)
    return server, port


def stop(server):
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()


def idle(args):
    # A fresh server: N plain streams, RSS per stream soon after and once the memory return has had its minute.
    server, port = start(args.dll)
    try:
        before = status(server.pid, "VmRSS")
        streams = [open_stream(port, "/sse")[0] for _ in range(args.idle)]
        time.sleep(5)
        soon = status(server.pid, "VmRSS")
        time.sleep(60)
        settled = status(server.pid, "VmRSS")
        print(f"{len(streams)} idle streams: {(soon - before) / len(streams):.0f} B RSS each after 5 s, "
              f"{(settled - before) / len(streams):.0f} B after 65 s")
        for s in streams:
            s.close()
    finally:
        stop(server)


def attacks(args):
    server, port = start(args.dll)
    try:
        base = status(server.pid, "VmRSS")

        sockets = []
        for i in range(args.streams):
            topics = "&".join(f"topic=s{i}-t{t}" for t in range(32))
            s, head = open_stream(port, f"/sse?{topics}")
            if not head.startswith(b"HTTP/1.1 200"):
                print(f"stream {i}: {head[:80]!r}")
                break
            sockets.append(s)
        time.sleep(1)
        with_streams = status(server.pid, "VmRSS")
        print(f"{len(sockets)} streams x 32 fresh topics: RSS {base / 1e6:.1f} MB -> {with_streams / 1e6:.1f} MB, "
              f"{(with_streams - base) / max(len(sockets), 1) / 1024:.1f} KB per stream")
        for s in sockets:
            s.close()
        time.sleep(1)

        body = b"topic=cr&data=" + b"%0D" * ((1 << 20) // 3 - 6)
        request = (b"POST /publish HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                   b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        answers = {}
        conn = socket.create_connection(("127.0.0.1", port), timeout=30)
        for _ in range(args.publishes):
            try:
                conn.sendall(request)
                code, head, _ = read_response(conn)
            except (OSError, EOFError):
                code, head = "closed", b""
            answers[code] = answers.get(code, 0) + 1
            if b"Connection: close" in head or code == "closed":
                conn.close()
                conn = socket.create_connection(("127.0.0.1", port), timeout=30)
        conn.close()
        time.sleep(1)
        print(f"{args.publishes} publishes of 1 MiB of %0D: answers {answers}; RSS now {status(server.pid, 'VmRSS') / 1e6:.1f} MB, "
              f"peak {status(server.pid, 'VmHWM') / 1e6:.1f} MB")

    finally:
        stop(server)


if __name__ == "__main__":
    main()
