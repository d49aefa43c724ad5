package dev.sluice.protocol.frontend;

import dev.sluice.protocol.Codec;
import dev.sluice.protocol.FrontendType;
import io.netty.buffer.ByteBuf;

/** Query: one simple-protocol query string, possibly holding several statements. */
public record Query(String sql) {

  public static Query decode(ByteBuf body) {
    String sql = Codec.readCString(body);
    Codec.requireEnd(body, "Query");
    return new Query(sql);
  }

  public void encode(ByteBuf out) {
    int at = Codec.beginMessage(out, FrontendType.QUERY.code());
    Codec.writeCString(out, sql);
    Codec.endMessage(out, at);
  }

  /** No query text: query text stays out of logs above TRACE. */
  @Override
  public String toString() {
    return "Query[" + sql.length() + " chars]";
  }
}
