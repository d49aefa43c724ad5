package dev.sluice.server;

/** Pools are per (database, user). */
record PoolKey(String database, String user) {
  @Override
  public String toString() {
    return database + "/" + user;
  }
}
