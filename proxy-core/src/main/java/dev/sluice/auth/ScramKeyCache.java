package dev.sluice.auth;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Remembers the ClientKey and ServerKey that {@link ScramClient} derives for a backend's salt and
 * iteration count, so that every backend login after the first costs a few HMACs instead of {@code
 * iterations} of them. A PostgreSQL server sends the same salt for a role until its password is
 * changed, so the hit rate is close to one.
 *
 * <p>One cache belongs to one backend password: create one per configured credential and drop it
 * when the password changes. Entries are also keyed by a tag of the password (an HMAC under a key
 * private to this cache), so handing it another password gives a miss, never a wrong key. At most
 * {@code capacity} entries are kept; when full, an arbitrary one is evicted.
 *
 * <p>Thread-safe. Two threads missing at once may both derive; one result wins, both are right. The
 * cached keys are password equivalents for SCRAM: keep the cache out of logs and dumps.
 */
public final class ScramKeyCache {
  public static final int DEFAULT_CAPACITY = 16;

  private final int capacity;
  private final byte[] tagKey = new byte[32];
  private final Map<Entry, ScramCrypto.Keys> keys = new ConcurrentHashMap<>();
  private final AtomicInteger derivations = new AtomicInteger();

  public ScramKeyCache() {
    this(DEFAULT_CAPACITY);
  }

  public ScramKeyCache(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("ScramKeyCache capacity must be at least 1: " + capacity);
    }
    this.capacity = capacity;
    new SecureRandom().nextBytes(tagKey);
  }

  /**
   * Keys for an already SASLprep'ed password; derives and remembers them on a miss. The arrays
   * returned are shared: read them, never change them.
   */
  ScramCrypto.Keys keys(String preparedPassword, byte[] salt, int iterations) {
    Entry entry = new Entry(passwordTag(preparedPassword), encode(salt), iterations);
    ScramCrypto.Keys cached = keys.get(entry);
    if (cached != null) {
      return cached;
    }
    // Derived outside any lock: the map is never blocked for the thousands of HMACs it takes.
    ScramCrypto.Keys derived = ScramCrypto.deriveKeys(preparedPassword, salt, iterations);
    derivations.incrementAndGet();
    evictIfFull();
    ScramCrypto.Keys raced = keys.putIfAbsent(entry, derived);
    return raced != null ? raced : derived;
  }

  /** How many entries are held now. */
  public int size() {
    return keys.size();
  }

  /** How many times a full derivation ran; for tests. */
  int derivations() {
    return derivations.get();
  }

  private void evictIfFull() {
    Iterator<Entry> it = keys.keySet().iterator();
    while (keys.size() >= capacity && it.hasNext()) {
      it.next();
      it.remove();
    }
  }

  private String passwordTag(String preparedPassword) {
    return encode(ScramCrypto.hmac(tagKey, preparedPassword.getBytes(StandardCharsets.UTF_8)));
  }

  private static String encode(byte[] bytes) {
    return Base64.getEncoder().encodeToString(bytes);
  }

  /** What the keys depend on: the password, the salt and the iteration count. */
  private record Entry(String passwordTag, String salt, int iterations) {}

  @Override
  public String toString() {
    return "ScramKeyCache[size=" + keys.size() + ", capacity=" + capacity + "]";
  }
}
