package dev.sluice.server;

import io.netty.channel.Channel;

/**
 * Whether a client channel is read, from the reasons that own the decision: the session (its
 * messages must have somewhere to go; the backend must keep up) and memory (the decoder waits for
 * room for a large incomplete message). The channel is read only when neither objects. Used on the
 * channel's event loop only.
 */
final class ReadGate {
  private final Channel channel;
  private boolean sessionWants = true;
  private boolean memoryPaused;

  ReadGate(Channel channel) {
    this.channel = channel;
  }

  void session(boolean wants) {
    sessionWants = wants;
    apply();
  }

  void memory(boolean paused) {
    memoryPaused = paused;
    apply();
  }

  private void apply() {
    boolean on = sessionWants && !memoryPaused;
    if (channel.config().isAutoRead() != on) {
      channel.config().setAutoRead(on);
    }
  }
}
