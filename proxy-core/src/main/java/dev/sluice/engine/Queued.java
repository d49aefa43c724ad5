package dev.sluice.engine;

import dev.sluice.protocol.Frame;

/** A client message held until its session has a backend, with what is known of it already. */
record Queued(Frame frame, Classified classified) {}
