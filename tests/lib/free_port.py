"""Print a free TCP port on 127.0.0.1 that this test has not been given before.

Binding port 0 and closing the socket leaves the port free, and the kernel
may hand the same ephemeral port to the next bind: two ports asked for in a
row (a simulator's, then a connector's) can come out equal. The ports given
are kept, one per line, in the file named by the only argument; a port in
it is never given again.
"""
import socket
import sys

path = sys.argv[1]
try:
    with open(path, encoding="ascii") as f:
        given = set(f.read().split())
except OSError:
    given = set()
for _ in range(200):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    if str(port) not in given:
        break
else:
    sys.exit("free_port.py: no port outside the ones given already after 200 binds")
with open(path, "a", encoding="ascii") as f:
    f.write(f"{port}\n")
print(port)
