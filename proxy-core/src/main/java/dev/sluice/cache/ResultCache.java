package dev.sluice.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The query result cache: answers stored as the exact frames the backend sent, bounded in bytes
 * (Caffeine, weighted), fresh for {@code maxAge} (or a statement's {@code sluice:ttl} hint) and
 * then served stale for {@code staleWhileRevalidate} while one session refreshes it.
 *
 * <p><b>Invalidation by version.</b> Every table name of every database has a version number, and
 * every database and the whole cache an epoch. An entry remembers the versions of the tables it
 * read as they were <em>before</em> its statement ran; a write bumps them, and an entry whose
 * remembered versions differ from the current ones is never served again. Because the versions are
 * taken before the backend runs the statement, a write that commits while a fill is under way makes
 * that fill unusable too: nothing read before a write is served after it. Names are compared
 * without their schema (a write to {@code a.t} invalidates {@code b.t} too: more than needed, never
 * less), and a write to a table invalidates the tables it inherits from (partitions and their
 * parents).
 *
 * <p><b>One execution per miss.</b> The first session to miss a key fills it; others that miss the
 * same key meanwhile wait for that fill ({@link Lookup.Wait}).
 *
 * <p>Thread-safe. Sessions on every event loop share one instance.
 */
public final class ResultCache implements CacheInvalidation {

  /**
   * @param maxSizeBytes the bound on stored frames (and keys), in bytes
   * @param maxEntryBytes a larger answer is relayed but not stored
   * @param maxAge how long an entry is fresh
   * @param staleWhileRevalidate how long after that it is still served while being refreshed
   */
  public record Settings(
      long maxSizeBytes, long maxEntryBytes, Duration maxAge, Duration staleWhileRevalidate) {
    public static final Settings DEFAULTS =
        new Settings(256L << 20, 1L << 20, Duration.ofSeconds(60), Duration.ofSeconds(15));
  }

  /** What a lookup found. */
  public sealed interface Lookup {
    /**
     * Serve {@code entry}. When {@code refresh} is not null the entry is stale and this session
     * should run the request again (its client already answered) to fill {@code refresh}.
     */
    record Hit(CacheEntry entry, boolean stale, CacheFill refresh) implements Lookup {}

    /** Another session is filling this key: wait for it. */
    record Wait(CacheFill fill) implements Lookup {}

    /** Run the request and fill the cache with its answer through {@code fill}. */
    record Miss(CacheFill fill) implements Lookup {}
  }

  private final Settings settings;
  private final LongSupplier clock;
  private final Cache<CacheKey, CacheEntry> entries;
  private final ConcurrentHashMap<CacheKey, CacheFill> fills = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, AtomicLong> tableVersions = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, AtomicLong> databaseEpochs = new ConcurrentHashMap<>();
  private final AtomicLong globalEpoch = new AtomicLong();
  private final ConcurrentHashMap<String, CacheabilityClassifier> classifiers =
      new ConcurrentHashMap<>();
  private final CacheDecisions decisions = new CacheDecisions();
  private final LongAdder invalidations = new LongAdder();
  private final LongAdder stores = new LongAdder();
  private volatile Consumer<String> catalogWanted = db -> {};

  public ResultCache(Settings settings) {
    this(settings, System::nanoTime);
  }

  public ResultCache(Settings settings, LongSupplier clock) {
    this.settings = settings;
    this.clock = clock;
    this.entries =
        Caffeine.newBuilder()
            .maximumWeight(settings.maxSizeBytes())
            .<CacheKey, CacheEntry>weigher((k, v) -> k.weight() + v.weight())
            .expireAfter(
                new Expiry<CacheKey, CacheEntry>() {
                  @Override
                  public long expireAfterCreate(CacheKey k, CacheEntry v, long now) {
                    return Math.max(0, v.staleUntilNanos() - now);
                  }

                  @Override
                  public long expireAfterUpdate(CacheKey k, CacheEntry v, long now, long left) {
                    return Math.max(0, v.staleUntilNanos() - now);
                  }

                  @Override
                  public long expireAfterRead(CacheKey k, CacheEntry v, long now, long left) {
                    return left;
                  }
                })
            .ticker(clock::getAsLong)
            .executor(Runnable::run)
            .build();
  }

  public Settings settings() {
    return settings;
  }

  long maxEntryBytes() {
    return settings.maxEntryBytes();
  }

  public CacheDecisions decisions() {
    return decisions;
  }

  /** Who loads a database's catalogs when the cache asks (a new database, DDL seen). */
  public void onCatalogWanted(Consumer<String> loader) {
    this.catalogWanted = loader;
  }

  /** The statement classifier of {@code database}; a new one asks for its catalogs. */
  public CacheabilityClassifier classifier(String database) {
    CacheabilityClassifier c = classifiers.get(database);
    if (c != null) {
      return c;
    }
    CacheabilityClassifier fresh = new CacheabilityClassifier(FunctionVolatility.empty());
    c = classifiers.putIfAbsent(database, fresh);
    if (c != null) {
      return c;
    }
    catalogWanted.accept(database);
    return fresh;
  }

  /**
   * Per database seen, how many functions and relations its catalogs hold (zero until the first
   * read ends: until then nothing that calls a function or reads a table is cached).
   */
  public Map<String, Map<String, Integer>> catalogSizes() {
    Map<String, Map<String, Integer>> out = new java.util.TreeMap<>();
    classifiers.forEach(
        (db, c) ->
            out.put(
                db, Map.of("functions", c.catalog().size(), "relations", c.relations().size())));
    return out;
  }

  /** The databases seen so far, for the periodic catalog refresh. */
  public Set<String> databases() {
    return Set.copyOf(classifiers.keySet());
  }

  /** Fresh catalogs of {@code database}: decisions made with the old ones are forgotten. */
  public void catalogLoaded(
      String database, FunctionVolatility functions, RelationCatalog relations) {
    classifier(database).replaceCatalogs(functions, relations);
  }

  /**
   * The context part of a key: the database, the user and every setting of the session, which
   * between them decide how names resolve and how values are written out.
   */
  public static String context(String database, String user, Map<String, String> settings) {
    StringBuilder b = new StringBuilder(64 + settings.size() * 24);
    b.append(database).append('\0').append(user);
    settings.entrySet().stream()
        .filter(e -> !e.getKey().equals("application_name"))
        .sorted(Map.Entry.comparingByKey())
        .forEach(e -> b.append('\0').append(e.getKey()).append('=').append(e.getValue()));
    return b.toString();
  }

  /**
   * Looks {@code key} up. A miss (and a stale hit whose refresh this session wins) comes with the
   * fill its answer goes to; the fill remembers the versions of {@code relations} now.
   *
   * @param ttl the statement's {@code sluice:ttl} hint, if any, in place of max-age
   */
  public Lookup lookup(CacheKey key, Set<SqlName> relations, Optional<Duration> ttl) {
    long now = clock.getAsLong();
    CacheEntry e = entries.getIfPresent(key);
    if (e != null) {
      if (!valid(key.database(), e.versions())) {
        entries.asMap().remove(key, e);
      } else if (e.fresh(now)) {
        decisions.record(CacheDecision.HIT);
        return new Lookup.Hit(e, false, null);
      } else if (e.usable(now)) {
        decisions.record(CacheDecision.STALE);
        CacheFill refresh = null;
        if (e.claimRefresh()) {
          CacheFill f = newFill(key, relations, ttl, now);
          if (fills.putIfAbsent(key, f) == null) {
            refresh = f;
          }
        }
        return new Lookup.Hit(e, true, refresh);
      }
    }
    CacheFill f = newFill(key, relations, ttl, now);
    CacheFill running = fills.putIfAbsent(key, f);
    if (running != null) {
      decisions.record(CacheDecision.HIT);
      return new Lookup.Wait(running);
    }
    decisions.record(CacheDecision.MISS);
    return new Lookup.Miss(f);
  }

  private CacheFill newFill(
      CacheKey key, Set<SqlName> relations, Optional<Duration> ttl, long now) {
    Set<String> names = new LinkedHashSet<>();
    for (SqlName r : relations) {
      names.add(r.name());
    }
    // "database\0table": the versions' own keys, made once here rather than at every lookup
    String[] tables = new String[names.size()];
    int n = 0;
    for (String name : names) {
      tables[n++] = key.database() + '\0' + name;
    }
    long[] versions = new long[tables.length];
    for (int i = 0; i < tables.length; i++) {
      versions[i] = version(tables[i]);
    }
    CacheFill.Snapshot snapshot =
        new CacheFill.Snapshot(tables, versions, epoch(key.database()), globalEpoch.get());
    long ttlNanos = ttl.orElse(settings.maxAge()).toNanos();
    return new CacheFill(this, key, snapshot, ttlNanos, now);
  }

  /** Stores a fill's answer unless a write made it stale meanwhile; the entry or null. */
  CacheEntry store(CacheKey key, byte[] frames, CacheFill.Snapshot versions, long ttlNanos) {
    if (!valid(key.database(), versions)) {
      return null;
    }
    long now = clock.getAsLong();
    long freshUntil = now + ttlNanos;
    CacheEntry e =
        new CacheEntry(
            frames,
            versions,
            now,
            freshUntil,
            freshUntil + settings.staleWhileRevalidate().toNanos());
    entries.put(key, e);
    stores.increment();
    return e;
  }

  void fillDone(CacheKey key, CacheFill fill) {
    fills.remove(key, fill);
  }

  /**
   * Ends fills that have run longer than {@code maxNanos} (their session stalled or was lost
   * without telling): their waiters go to the backend themselves.
   */
  public void expireFills(long maxNanos) {
    long now = clock.getAsLong();
    for (CacheFill f : fills.values()) {
      if (now - f.startedNanos() > maxNanos) {
        f.end(false);
      }
    }
  }

  private boolean valid(String database, CacheFill.Snapshot s) {
    if (s.globalEpoch() != globalEpoch.get() || s.databaseEpoch() != epoch(database)) {
      return false;
    }
    String[] tables = s.tables();
    long[] versions = s.versions();
    for (int i = 0; i < tables.length; i++) {
      if (version(tables[i]) != versions[i]) {
        return false;
      }
    }
    return true;
  }

  private long version(String databaseAndTable) {
    AtomicLong v = tableVersions.get(databaseAndTable);
    return v == null ? 0 : v.get();
  }

  private long epoch(String database) {
    AtomicLong v = databaseEpochs.get(database);
    return v == null ? 0 : v.get();
  }

  // ---- invalidation ----

  @Override
  public void tables(String database, Collection<String> tables) {
    RelationCatalog catalog = classifier(database).relations();
    for (String written : tables) {
      String name = bareName(written);
      for (String t : catalog.withAncestors(name)) {
        tableVersions.computeIfAbsent(database + '\0' + t, k -> new AtomicLong()).incrementAndGet();
      }
    }
    invalidations.increment();
  }

  @Override
  public void database(String database) {
    databaseEpochs.computeIfAbsent(database, k -> new AtomicLong()).incrementAndGet();
    invalidations.increment();
  }

  /**
   * A statement of unknown effect passed through (DDL, GRANT, CALL...): everything of {@code
   * database} is suspect, and its catalogs may have changed.
   */
  public void schemaChanged(String database) {
    database(database);
    catalogWanted.accept(database);
  }

  @Override
  public void all() {
    globalEpoch.incrementAndGet();
    invalidations.increment();
  }

  /** The last part of a possibly qualified name; the sources fold it as PostgreSQL would. */
  static String bareName(String name) {
    int dot = name.lastIndexOf('.');
    return dot < 0 ? name : name.substring(dot + 1);
  }

  // ---- figures for the admin port ----

  public long entryCount() {
    entries.cleanUp();
    return entries.estimatedSize();
  }

  public long weightedBytes() {
    return entries.policy().eviction().map(ev -> ev.weightedSize().orElse(0L)).orElse(0L);
  }

  public long invalidations() {
    return invalidations.sum();
  }

  public long stores() {
    return stores.sum();
  }

  public int fillsRunning() {
    return fills.size();
  }
}
