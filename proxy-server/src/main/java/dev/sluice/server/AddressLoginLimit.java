package dev.sluice.server;

import dev.sluice.auth.FailedLogins;
import dev.sluice.config.Durations;
import dev.sluice.logging.ConnLog;
import dev.sluice.logging.LogContext;
import io.netty.channel.Channel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection's view of {@code --login-failure-limit}: whether its client's address is locked by
 * earlier failed logins, and counting its own failure. The log says which address was locked, never
 * which password or proof it tried.
 */
final class AddressLoginLimit {
  // The connection's logger: the lock is read together with its login and close lines.
  private static final Logger log = LoggerFactory.getLogger(ClientConnection.class);

  private final FailedLogins failedLogins;
  private final Channel channel;
  private final LogContext logContext;

  AddressLoginLimit(FailedLogins failedLogins, Channel channel, LogContext logContext) {
    this.failedLogins = failedLogins;
    this.channel = channel;
    this.logContext = logContext;
  }

  /** How long this client's address is still refused; null when it is not. */
  Duration lockedFor() {
    InetAddress a = address();
    return a == null ? null : failedLogins.lockedFor(a);
  }

  /** A wrong password or unknown role: counted against the address, logged when it locks it. */
  void failed() {
    InetAddress a = address();
    if (a == null || !failedLogins.failed(a)) {
      return;
    }
    String window = Durations.format(failedLogins.window());
    ConnLog.warn(
        log,
        logContext,
        "{} failed logins from {}, each within {} of the last: its logins are refused for {}"
            + " (--login-failure-limit, --login-failure-window)",
        failedLogins.limit(),
        a.getHostAddress(),
        window,
        window);
  }

  /** The client's IP address; null for a channel without one (an embedded test channel). */
  private InetAddress address() {
    return channel.remoteAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
  }
}
