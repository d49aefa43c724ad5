package dev.sluice.server;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * One fault of a soak as its clients lived it.
 *
 * @param slot the fault's place in the soak, from 0
 * @param slots how many faults the soak has
 * @param detail what the fault did ({@code pid 1234 terminated})
 * @param healNanos from injecting the fault to its healing (a restart's length, say)
 * @param recoveryNanos each client's time from the healing to its first success, -1 for none
 * @param tally the slot's operations and errors
 */
record SoakOutcome(
    int slot,
    int slots,
    SoakFault fault,
    String detail,
    long healNanos,
    long[] recoveryNanos,
    SoakClients.Tally tally) {

  long unrecovered() {
    return Arrays.stream(recoveryNanos).filter(n -> n < 0).count();
  }

  /** The last client's recovery; -1 when one never recovered. */
  long slowestMillis() {
    return unrecovered() > 0 ? -1 : millis(Arrays.stream(recoveryNanos).max().orElse(0));
  }

  long medianMillis() {
    long[] sorted = Arrays.stream(recoveryNanos).filter(n -> n >= 0).sorted().toArray();
    return sorted.length == 0 ? -1 : millis(sorted[sorted.length / 2]);
  }

  /** The fault's line, then a few of its errors' messages. */
  void print() {
    System.out.printf(
        "SoakIT fault %d/%d %-14s healed after %5d ms; errors %3d in %2d clients (%s);"
            + " recovered %d/%d clients, slowest %d ms, median %d ms; %d operations; %s%n",
        slot + 1,
        slots,
        fault.word,
        millis(healNanos),
        tally.errors(),
        tally.clientsWithErrors(),
        tally.errorsByState(),
        recoveryNanos.length - unrecovered(),
        recoveryNanos.length,
        slowestMillis(),
        medianMillis(),
        tally.ops.sum(),
        detail);
    tally.samples().forEach(s -> System.out.println("    e.g. " + s));
  }

  private static long millis(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }

  @Override
  public String toString() {
    return "fault " + (slot + 1) + " (" + fault.word + ")";
  }
}
