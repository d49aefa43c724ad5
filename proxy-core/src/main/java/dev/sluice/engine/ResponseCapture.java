package dev.sluice.engine;

import io.netty.buffer.ByteBuf;

/**
 * Extension point: sees the frames of one request's response as they are relayed to the client (a
 * cache fill). It gets a retained duplicate of each frame, which it must release; the client's copy
 * is unaffected. {@link #onEnd} comes once: complete when the response ended with ReadyForQuery and
 * no error, not complete when it failed or the backend went away.
 */
public interface ResponseCapture {
  void onFrame(ByteBuf frame);

  void onEnd(boolean complete);
}
