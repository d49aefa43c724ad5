#!/usr/bin/env python3
"""Writes the hand-made seed inputs of Sluice's Jazzer harnesses (docs/security.md).

Each harness reads its settings through Jazzer's FuzzedDataProvider, which takes integers from the
end of an input and byte arrays from its front; this script lays seeds out the same way, so a seed
is readable protocol bytes followed by a few trailing setting bytes. Run from the repository root;
it (re)writes files named seed-*, leaving the fuzzer's own finds (crash-*, ...) alone.
"""
import os
import struct

CORE = "proxy-core/src/test/resources/dev/sluice"
SERVER = "proxy-server/src/test/resources/dev/sluice/server"


class Input:
    def __init__(self):
        self.front = b""
        self.tail = []  # bytes in the order the provider consumes them from the end

    def int(self, lo, hi, v):
        rng, x, k = hi - lo, v - lo, 0
        while (rng >> (8 * k)) > 0:
            k += 1
        self.tail += list(x.to_bytes(k, "big")) if k else []
        return self

    def bool(self, v):
        self.tail.append(1 if v else 0)
        return self

    def bytes(self, b, size_lo=None, size_hi=None):
        if size_lo is not None:
            self.int(size_lo, size_hi, len(b))
        self.front += b
        return self

    def chunks(self, data, *cuts):
        """Feeds data in pieces ending at the given offsets (then the rest)."""
        start = 0
        for end in list(cuts) + [len(data)]:
            if end > start:
                self.bytes(data[start:end], 1, 4096)
            start = end
        return self

    def build(self):
        return self.front + bytes(reversed(self.tail))


def write(directory, name, data):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "seed-" + name), "wb") as f:
        f.write(data)


def msg(t, body=b""):
    return t.encode() + struct.pack(">i", len(body) + 4) + body


def cstr(s):
    return s.encode() + b"\0"


def startup(**params):
    body = struct.pack(">i", 196608) + b"".join(cstr(k) + cstr(v) for k, v in params.items()) + b"\0"
    return struct.pack(">i", len(body) + 4) + body


SSL_REQUEST = struct.pack(">ii", 8, 80877103)
GSS_REQUEST = struct.pack(">ii", 8, 80877104)
CANCEL = struct.pack(">iiii", 16, 80877102, 42, 99)
LOGIN = startup(user="app", database="db")
PASSWORD = msg("p", cstr("secret"))
SASL_INITIAL = msg("p", cstr("SCRAM-SHA-256") + struct.pack(">i", 32) + b"n,,n=,r=rOprNGfwEbeRWgbNEkqO1234")
SASL_RESPONSE = msg("p", b"c=biws,r=rOprNGfwEbeRWgbNEkqO1234abc,p=" + b"A" * 44)
QUERY = msg("Q", cstr("SELECT 1"))
SYNC = msg("S")
COPY_DATA = msg("d", b"1\t2\n")
TERMINATE = msg("X")


def client_frames():
    d = f"{CORE}/protocol/FrameDecoderFuzzTestInputs/clientDecoder"

    def cfg(max_size=65536, logged_in=False, budget=100_000):
        return Input().int(16, 100_000, max_size).bool(logged_in).int(1, 200_000, budget)

    write(d, "ssl-then-startup", cfg().chunks(SSL_REQUEST + LOGIN + PASSWORD, 8).build())
    write(d, "ssl-pipelined", cfg().chunks(SSL_REQUEST + LOGIN).build())
    write(d, "gss-then-startup", cfg().chunks(GSS_REQUEST + LOGIN, 8).build())
    write(d, "cancel-with-trailer", cfg().chunks(CANCEL + QUERY).build())
    session = LOGIN + PASSWORD + QUERY + COPY_DATA * 3 + msg("c") + SYNC + TERMINATE
    write(d, "session-split", cfg(logged_in=True).chunks(session, 3, 20, 41).build())
    for name, length in [("0", 0), ("3", 3), ("4", 4), ("5", 5), ("max", 65536), ("max1", 65537),
                         ("int-max", 0x7FFFFFFF), ("negative", -1)]:
        bad = LOGIN + b"Q" + struct.pack(">i", length) + b"SELECT 1\0"
        write(d, "length-" + name, cfg().chunks(bad).build())
    for name, length in [("short", 7), ("long", 10_001), ("negative", -8)]:
        write(d, "startup-length-" + name, cfg().chunks(struct.pack(">i", length) + LOGIN[4:]).build())
    big = LOGIN + msg("Q", b"x" * 20_000 + b"\0")
    write(d, "large-reserved", cfg(logged_in=True, budget=10_000).chunks(big, 100, 9000).build())


def server_frames():
    d = f"{CORE}/protocol/FrameDecoderFuzzTestInputs/serverDecoder"
    rows = msg("T", struct.pack(">h", 0)) + msg("D", struct.pack(">hi", 1, 1) + b"1") * 3
    reply = rows + msg("C", cstr("SELECT 3")) + msg("Z", b"I")
    write(d, "select-split", Input().int(16, 100_000, 65536).chunks(reply, 2, 9, 30).build())
    for name, length in [("0", 0), ("3", 3), ("max1", 65537), ("int-max", 0x7FFFFFFF), ("negative", -5)]:
        bad = msg("Z", b"I") + b"D" + struct.pack(">i", length)
        write(d, "length-" + name, Input().int(16, 100_000, 65536).chunks(bad).build())


def auth(subtype, body=b""):
    return msg("R", struct.pack(">i", subtype) + body)


def server_login():
    d = f"{SERVER}/ServerLoginFuzzTestInputs/serverLogin"
    ok = auth(0) + msg("S", cstr("server_version") + cstr("16.0")) + msg("K", struct.pack(">ii", 7, 8)) + msg("Z", b"I")
    first = b"r=rOprNGfwEbeRWgbNEkqOabc,s=c2FsdA==,i=4096"
    cases = {
        "trust": ok,
        "cleartext": auth(3) + ok,
        "md5": auth(5, b"salt") + ok,
        "sasl-then-continue": auth(10, cstr("SCRAM-SHA-256") + b"\0") + auth(11, first),
        "sasl-final-before-continue": auth(10, cstr("SCRAM-SHA-256") + b"\0") + auth(12, b"v=AAAA"),
        "continue-before-sasl": auth(11, first),
        "ok-mid-sasl": auth(10, cstr("SCRAM-SHA-256") + b"\0") + ok,
        "ready-without-ok": msg("Z", b"I"),
        "key-before-ok": msg("K", struct.pack(">ii", 7, 8)) + auth(0) + msg("Z", b"I"),
        "two-requests": auth(3) + auth(5, b"salt") + ok,
        "huge-iterations": auth(10, cstr("SCRAM-SHA-256") + b"\0") + auth(11, first.replace(b"4096", b"999999999")),
        "error": msg("E", b"SFATAL\0C28P01\0Mpassword authentication failed\0\0"),
        "gss": auth(7),
        "negative-subtype": auth(-1),
        "bad-length": b"R" + struct.pack(">i", 0x7FFFFFFF) + struct.pack(">i", 0),
        "negative-length": b"R" + struct.pack(">i", -4),
        "truncated-md5": auth(5, b"sa"),
    }
    for name, data in cases.items():
        write(d, name, Input().chunks(data, 3).build())


def client_login():
    d = f"{SERVER}/ClientLoginFuzzTestInputs/clientLogin"
    auths = {"scram": 0, "md5": 1, "password": 2}

    def cfg(method, timeout=False, budget=1 << 20):
        return Input().int(0, 2, auths[method]).int(1, 1 << 20, budget).bool(timeout)

    cases = {
        ("password", "ok"): LOGIN + PASSWORD,
        ("password", "wrong"): LOGIN + msg("p", cstr("nope")),
        ("password", "ssl-first"): SSL_REQUEST + LOGIN + PASSWORD,
        ("password", "second-startup"): LOGIN + LOGIN + PASSWORD,
        ("password", "query-during-auth"): LOGIN + QUERY,
        ("password", "console"): startup(user="app", database="sluice") + PASSWORD,
        ("password", "unterminated"): LOGIN + msg("p", b"secret"),
        ("md5", "hash"): LOGIN + msg("p", cstr("md5" + "0" * 32)),
        ("scram", "initial"): LOGIN + SASL_INITIAL + SASL_RESPONSE,
        ("scram", "response-first"): LOGIN + SASL_RESPONSE,
        ("scram", "plain-password"): LOGIN + PASSWORD,
        ("scram", "plus"): LOGIN + msg("p", cstr("SCRAM-SHA-256-PLUS") + struct.pack(">i", 10) + b"p=tls-serv"),
        ("scram", "negative-data-length"): LOGIN + msg("p", cstr("SCRAM-SHA-256") + struct.pack(">i", -1)),
        ("scram", "huge-data-length"): LOGIN + msg("p", cstr("SCRAM-SHA-256") + struct.pack(">i", 0x7FFFFFFF)),
        ("password", "protocol-2"): struct.pack(">ii", 9, 131072) + b"\0",
        ("password", "cancel"): CANCEL,
        ("password", "terminate-first"): TERMINATE,
        ("password", "duplicate-param"): startup(user="app", database="db")[:-1] + cstr("user") + cstr("x") + b"\0",
    }
    for (method, name), data in cases.items():
        write(d, f"{method}-{name}", cfg(method).chunks(data, 4).build())
    write(d, "password-timeout", cfg("password", timeout=True).chunks(LOGIN).build())
    write(d, "password-timeout-silent", cfg("password", timeout=True).chunks(LOGIN[:5]).build())


def scram():
    d = f"{CORE}/auth/ScramFuzzTestInputs"
    good_first = b"n,,n=,r=rOprNGfwEbeRWgbNEkqO"
    write(f"{d}/serverReadsClientMessages", "valid-shape",
          Input().bool(False).bytes(good_first, 0, 1024).bytes(
              b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=" + b"A" * 43 + b"=").build())
    write(f"{d}/serverReadsClientMessages", "extensions",
          Input().bool(True).bytes(b"y,,n=user,r=abc,x=1,y=2", 0, 1024).bytes(b"c=eSws,r=x,q=1,p=AAAA").build())
    write(f"{d}/serverReadsClientMessages", "authzid",
          Input().bool(False).bytes(b"n,a=admin,n=,r=abc", 0, 1024).build())
    server_first = b"r=rOprNGfwEbeRWgbNEkqOsrv,s=c2FsdHNhbHQ=,i=4096"
    write(f"{d}/clientReadsServerMessages", "valid-shape",
          Input().bytes(server_first, 0, 1024).bytes(b"v=" + b"A" * 43 + b"=").build())
    write(f"{d}/clientReadsServerMessages", "server-error",
          Input().bytes(server_first, 0, 1024).bytes(b"e=invalid-proof").build())
    write(f"{d}/clientReadsServerMessages", "foreign-nonce",
          Input().bytes(b"r=somebodyelse,s=c2FsdA==,i=4096", 0, 1024).build())
    write(f"{d}/clientReadsServerMessages", "huge-iterations",
          Input().bytes(b"r=rOprNGfwEbeRWgbNEkqOsrv,s=c2FsdA==,i=99999999999", 0, 1024).build())
    write(f"{d}/clientReadsServerMessages", "zero-iterations",
          Input().bytes(b"r=rOprNGfwEbeRWgbNEkqOsrv,s=c2FsdA==,i=0", 0, 1024).build())


if __name__ == "__main__":
    client_frames()
    server_frames()
    server_login()
    client_login()
    scram()
