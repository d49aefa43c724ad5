package dev.sluice.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.sluice.config.ConfigException;
import dev.sluice.config.Durations;
import dev.sluice.error.SafeErrors;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Answers the admin port's requests.
 *
 * <pre>
 *   GET /          the status page (HTML; it polls /health and /stats)
 *   GET /healthz   200 "ok" while the process serves
 *   GET /readyz    200 when the upstream's circuit is closed and every pool holds its warm
 *                  backends; 503 with the reason otherwise
 *   GET /health    the JSON health report (status, upstream, pools, clients)
 *   GET /metrics   Prometheus text (Micrometer)
 *   GET /stats     the counters as one compact JSON object
 *   GET /pools, /clients, /servers, /config   JSON
 *   GET /cache     the result cache's state (JSON; for now: not built, and why)
 *   POST /pause[?timeout=30s]  hold new transactions, close backends as they are released; answers
 *                  when none is in use (or at the timeout, with "quiet": false)
 *   POST /resume, /reconnect, /reload, /shutdown
 * </pre>
 *
 * The POST endpoints need {@code Authorization: Bearer <admin token>} whenever a token is set (and
 * one must be set for an admin port beyond loopback). GETs need no token: they change nothing, and
 * probes and Prometheus read them.
 *
 * <p>Anything else is 404; a method other than GET (and HEAD) on these is 405. A request whose body
 * is compressed is refused (415): nothing here inflates what a client sends. Every answer is {@code
 * no-store} and {@code nosniff}.
 */
final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** What every connection of the admin port shares. */
  static final class Routes {
    final ProxyContext ctx;
    final AdminViews views;
    final AdminMetrics metrics;
    final AdminActions actions;
    final StatusPage page;

    Routes(ProxyContext ctx) {
      this.ctx = ctx;
      this.views = new AdminViews(ctx);
      this.metrics = new AdminMetrics(ctx);
      this.actions = new AdminActions(ctx);
      this.page = StatusPage.load();
    }
  }

  private final Routes routes;

  AdminHandler(Routes routes) {
    this.routes = routes;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    if (!req.decoderResult().isSuccess()) {
      respond(ctx, req, HttpResponseStatus.BAD_REQUEST, "text/plain", "bad request\n", true);
      return;
    }
    if (req.headers().contains(HttpHeaderNames.CONTENT_ENCODING)
        && !req.headers()
            .get(HttpHeaderNames.CONTENT_ENCODING)
            .equalsIgnoreCase(HttpHeaderValues.IDENTITY.toString())) {
      respond(
          ctx,
          req,
          HttpResponseStatus.UNSUPPORTED_MEDIA_TYPE,
          "text/plain",
          "compressed request bodies are not accepted\n",
          true);
      return;
    }
    QueryStringDecoder uri = new QueryStringDecoder(req.uri());
    String path = uri.path();
    boolean get = req.method().equals(HttpMethod.GET) || req.method().equals(HttpMethod.HEAD);
    if (isAction(path)) {
      act(ctx, req, path, uri);
      return;
    }
    if (!isRoute(path)) {
      respond(ctx, req, HttpResponseStatus.NOT_FOUND, "text/plain", "not found\n", false);
      return;
    }
    if (!get) {
      respond(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, "text/plain", "GET only\n", false);
      return;
    }
    switch (path) {
      case "/" ->
          respond(
              ctx,
              req,
              HttpResponseStatus.OK,
              StatusPage.CONTENT_TYPE,
              routes.page.html(),
              routes.page.headers(),
              false);
      case "/healthz" -> respond(ctx, req, HttpResponseStatus.OK, "text/plain", "ok\n", false);
      case "/readyz" -> {
        String why = routes.views.notReadyBecause();
        respond(
            ctx,
            req,
            why == null ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
            "text/plain",
            why == null ? "ready\n" : "not ready: " + why + "\n",
            false);
      }
      case "/metrics" ->
          respond(
              ctx,
              req,
              HttpResponseStatus.OK,
              "text/plain; version=0.0.4; charset=utf-8",
              routes.metrics.scrape(),
              false);
      case "/health" -> json(ctx, req, routes.views.health());
      case "/stats" -> json(ctx, req, routes.views.stats());
      case "/pools" -> json(ctx, req, routes.views.pools());
      case "/clients" -> json(ctx, req, routes.views.clients());
      case "/servers" -> json(ctx, req, routes.views.servers());
      case "/cache" -> json(ctx, req, routes.views.cache());
      default -> json(ctx, req, routes.views.config());
    }
  }

  private static boolean isAction(String path) {
    return switch (path) {
      case "/pause", "/resume", "/reload", "/reconnect", "/shutdown" -> true;
      default -> false;
    };
  }

  /** The changing endpoints: POST only, and with the bearer token when one is configured. */
  private void act(
      ChannelHandlerContext ctx, FullHttpRequest req, String path, QueryStringDecoder uri) {
    if (!req.method().equals(HttpMethod.POST)) {
      respond(ctx, req, HttpResponseStatus.METHOD_NOT_ALLOWED, "text/plain", "POST only\n", false);
      return;
    }
    String token = routes.ctx.config().adminToken();
    if (token != null && !bearerMatches(req, token)) {
      FullHttpResponse res =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1,
              HttpResponseStatus.UNAUTHORIZED,
              Unpooled.copiedBuffer(
                  "this endpoint needs the admin token\n", StandardCharsets.UTF_8));
      res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
      res.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
      res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, res.content().readableBytes());
      res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    String who = "admin port " + ctx.channel().remoteAddress();
    try {
      switch (path) {
        case "/pause" -> {
          Duration wait = AdminActions.PAUSE_WAIT;
          List<String> t = uri.parameters().get("timeout");
          if (t != null && !t.isEmpty()) {
            wait = Durations.parse("timeout", t.get(0));
          }
          routes
              .actions
              .pause(wait, who)
              .whenComplete(
                  (r, e) -> {
                    if (e != null) {
                      respond(
                          ctx,
                          req,
                          HttpResponseStatus.INTERNAL_SERVER_ERROR,
                          "text/plain",
                          "error\n",
                          true);
                    } else {
                      json(ctx, req, r);
                    }
                  });
        }
        case "/resume" -> json(ctx, req, routes.actions.resume(who));
        case "/reconnect" -> json(ctx, req, routes.actions.reconnect(who));
        case "/reload" ->
            routes
                .actions
                .reloadOffLoop(who)
                .whenComplete(
                    (r, e) -> {
                      Throwable cause = e == null ? null : e.getCause() == null ? e : e.getCause();
                      if (cause == null) {
                        json(ctx, req, r);
                      } else if (cause instanceof ConfigException) {
                        respond(
                            ctx,
                            req,
                            HttpResponseStatus.BAD_REQUEST,
                            "text/plain",
                            cause.getMessage() + "\n",
                            false);
                      } else {
                        respond(
                            ctx,
                            req,
                            HttpResponseStatus.INTERNAL_SERVER_ERROR,
                            "text/plain",
                            "reload failed: " + SafeErrors.describe(cause) + "\n",
                            false);
                      }
                    });
        default -> json(ctx, req, routes.actions.shutdown(who));
      }
    } catch (ConfigException e) {
      respond(ctx, req, HttpResponseStatus.BAD_REQUEST, "text/plain", e.getMessage() + "\n", false);
    } catch (RuntimeException e) {
      respond(
          ctx,
          req,
          HttpResponseStatus.INTERNAL_SERVER_ERROR,
          "text/plain",
          path.substring(1) + " failed: " + SafeErrors.describe(e) + "\n",
          false);
    }
  }

  /** Compares in constant time, so the answer's timing says nothing about the token. */
  private static boolean bearerMatches(HttpRequest req, String token) {
    String h = req.headers().get(HttpHeaderNames.AUTHORIZATION);
    if (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return false;
    }
    return MessageDigest.isEqual(
        h.substring(7).strip().getBytes(StandardCharsets.UTF_8),
        token.getBytes(StandardCharsets.UTF_8));
  }

  private static boolean isRoute(String path) {
    return switch (path) {
      case "/",
          "/healthz",
          "/readyz",
          "/health",
          "/metrics",
          "/stats",
          "/pools",
          "/clients",
          "/servers",
          "/cache",
          "/config" ->
          true;
      default -> false;
    };
  }

  private static void json(ChannelHandlerContext ctx, FullHttpRequest req, Object body) {
    String text;
    try {
      text = JSON.writeValueAsString(body) + "\n";
    } catch (JsonProcessingException e) {
      respond(ctx, req, HttpResponseStatus.INTERNAL_SERVER_ERROR, "text/plain", "error\n", true);
      return;
    }
    if (body instanceof Map<?, ?> m && "degraded".equals(m.get("status"))) {
      respond(ctx, req, HttpResponseStatus.SERVICE_UNAVAILABLE, "application/json", text, false);
      return;
    }
    respond(ctx, req, HttpResponseStatus.OK, "application/json", text, false);
  }

  private static void respond(
      ChannelHandlerContext ctx,
      HttpRequest req,
      HttpResponseStatus status,
      String type,
      String body,
      boolean close) {
    respond(ctx, req, status, type, body.getBytes(StandardCharsets.UTF_8), Map.of(), close);
  }

  private static void respond(
      ChannelHandlerContext ctx,
      HttpRequest req,
      HttpResponseStatus status,
      String type,
      byte[] bytes,
      Map<String, String> headers,
      boolean close) {
    FullHttpResponse res =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            status,
            req != null && req.method().equals(HttpMethod.HEAD)
                ? Unpooled.EMPTY_BUFFER
                : Unpooled.wrappedBuffer(bytes));
    res.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
    res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
    res.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    res.headers().set("X-Content-Type-Options", "nosniff");
    headers.forEach(res.headers()::set);
    boolean keepAlive = !close && req != null && HttpUtil.isKeepAlive(req);
    if (keepAlive) {
      res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
      ctx.writeAndFlush(res);
    } else {
      res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }

  /**
   * Before the aggregator: a request line or header block over the codec's limits becomes 414 or
   * 431 and the connection closes, instead of a half-read request.
   */
  static final class Limits extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpObject o && o.decoderResult().isFailure()) {
        DecoderResult r = o.decoderResult();
        HttpResponseStatus status =
            r.cause() instanceof TooLongFrameException t
                    && t.getMessage() != null
                    && t.getMessage().contains("header")
                ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                : r.cause() instanceof TooLongFrameException
                    ? HttpResponseStatus.REQUEST_URI_TOO_LONG
                    : HttpResponseStatus.BAD_REQUEST;
        ReferenceCountUtil.release(msg);
        respond(ctx, null, status, "text/plain", status.reasonPhrase() + "\n", true);
        return;
      }
      ctx.fireChannelRead(msg);
    }
  }
}
