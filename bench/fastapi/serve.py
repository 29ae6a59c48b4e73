"""One uvicorn worker on its own SO_REUSEPORT socket: start N of these on one port for N workers.

Why not `uvicorn --workers N`: uvicorn 0.17.6 (Debian 12) binds with socket.socket(AF_INET), whose
proto is 0, and accepted sockets inherit it; asyncio only sets TCP_NODELAY when proto is IPPROTO_TCP,
so every response waits on Nagle (about 40 ms on loopback). Its workers also share one accept queue,
where one process can take every connection. Here each process binds its own socket with
IPPROTO_TCP (asyncio then sets TCP_NODELAY per connection) and SO_REUSEPORT, so the kernel spreads
connections over the workers.

usage: /usr/bin/python3 serve.py PORT
"""

import os
import socket
import sys

import uvicorn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    port = int(sys.argv[1])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    config = uvicorn.Config(
        "app:app", loop="asyncio", http="h11", lifespan="off", log_level="warning", access_log=False
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
