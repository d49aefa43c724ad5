package dev.sluice.relay;

/**
 * The relay's counters at one moment.
 *
 * @param accepted connections accepted since the start, refused ones included
 * @param refused connections reset at once because new connections were refused
 * @param resets connections reset on request ({@link FaultRelay#resetAll}, {@link RelayLink#reset})
 * @param open connections open now
 * @param bytesUpstream bytes passed on from clients to the target
 * @param bytesDownstream bytes passed on from the target to clients
 */
public record RelayStats(
    long accepted, long refused, long resets, int open, long bytesUpstream, long bytesDownstream) {}
