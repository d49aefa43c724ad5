package dev.sluice.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.Encoder;
import net.logstash.logback.encoder.LogstashEncoder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies {@code --log-level} and {@code --log-format} to Logback as {@code run} starts. The
 * shipped {@code logback.xml} writes text lines to stderr through the appender named {@value
 * #APPENDER}; for JSON its encoder is swapped for a {@link LogstashEncoder}: one JSON object per
 * line with {@code @timestamp}, {@code level}, {@code logger_name}, {@code thread_name}, {@code
 * message}, the MDC (the connection: {@code conn}, {@code db}, {@code user}, {@code pid}) and
 * {@code stack_trace} when there is one. A Logback configuration of one's own ({@code
 * -Dlogback.configurationFile}) without that appender keeps its own layout; only the level is set
 * then.
 */
final class Logging {
  static final String APPENDER = "STDERR";

  private Logging() {}

  /** Configures the process's Logback; a no-op if another SLF4J binding is on the class path. */
  static void configure(LogLevel level, LogFormat format) {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
      configure(context, level, format);
    }
  }

  /**
   * @param format TEXT or JSON (resolve AUTO first); TEXT leaves the configured layout alone
   */
  static void configure(LoggerContext context, LogLevel level, LogFormat format) {
    ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.toLevel(level.name()));
    if (format != LogFormat.JSON) {
      return;
    }
    Appender<ILoggingEvent> appender = root.getAppender(APPENDER);
    if (appender instanceof OutputStreamAppender<ILoggingEvent> stream
        && !(stream.getEncoder() instanceof LogstashEncoder)) {
      LogstashEncoder json = new LogstashEncoder();
      json.setContext(context);
      json.start();
      Encoder<ILoggingEvent> text = stream.getEncoder();
      stream.setEncoder(json);
      if (text != null) {
        text.stop();
      }
    }
  }
}
