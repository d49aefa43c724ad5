package dev.sluice.pool;

/**
 * A consistent snapshot of one pool's counts: {@code total = active + idle + connecting}.
 *
 * @param total backends that exist or are being opened
 * @param active backends handed to clients
 * @param idle backends waiting in the pool
 * @param connecting backends being opened
 * @param waiting clients waiting for a backend
 */
public record PoolStats(int total, int active, int idle, int connecting, int waiting) {

  @Override
  public String toString() {
    return "total=" + total + " active=" + active + " idle=" + idle + " waiting=" + waiting;
  }
}
