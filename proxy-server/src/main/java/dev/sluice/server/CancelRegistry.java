package dev.sluice.server;

import dev.sluice.protocol.backend.BackendKeyData;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sluice-issued cancel keys. Each client gets a random (process id, secret) pair that is unique
 * among live clients; a CancelRequest is honoured only when both halves match, and only reaches the
 * backend serving that client at that moment.
 */
final class CancelRegistry {
  private final ConcurrentHashMap<Integer, ClientConnection> byPid = new ConcurrentHashMap<>();
  private final SecureRandom random = new SecureRandom();

  BackendKeyData register(ClientConnection client) {
    while (true) {
      int pid = random.nextInt(Integer.MAX_VALUE - 1) + 1;
      if (byPid.putIfAbsent(pid, client) == null) {
        return new BackendKeyData(pid, random.nextInt());
      }
    }
  }

  void unregister(BackendKeyData key, ClientConnection client) {
    if (key != null) {
      byPid.remove(key.processId(), client);
    }
  }

  /** The client owning this key, or null when none does (the request is then ignored). */
  ClientConnection find(int pid, int secret) {
    ClientConnection c = byPid.get(pid);
    if (c == null || c.cancelKey() == null) {
      return null;
    }
    byte[] a = ByteArrays.ofInt(c.cancelKey().secretKey());
    byte[] b = ByteArrays.ofInt(secret);
    return MessageDigest.isEqual(a, b) ? c : null;
  }

  int size() {
    return byPid.size();
  }

  /** Tiny helper kept here: the only place Sluice compares secrets as ints. */
  static final class ByteArrays {
    private ByteArrays() {}

    static byte[] ofInt(int v) {
      return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }
  }
}
