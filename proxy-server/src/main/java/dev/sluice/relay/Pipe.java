package dev.sluice.relay;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * One direction of a relayed connection: bytes read from {@code from} wait in a queue until their
 * due time, then are written to {@code to}. Everything runs on the connection's event loop.
 *
 * <p>Due times never decrease, so bytes leave in the order they came whatever the latency is
 * changed to. With a bandwidth limit a chunk is cut into pieces, and each piece departs when the
 * one before it has had its share of the second; its due time is that departure plus the latency.
 * Reading from {@code from} stops while the queue holds {@value #HIGH_WATER} bytes or more, while
 * {@code to} cannot take writes, and during a black hole, so the sender's TCP window fills as it
 * would in front of a slow or silent network.
 */
final class Pipe {
  /** Bytes the queue may hold before the source is no longer read. */
  static final int HIGH_WATER = 256 * 1024;

  /** A run of bytes and when it may leave; a null buffer is the end of the stream. */
  private record Chunk(ByteBuf buf, long due) {}

  private final RelayLink link;
  private final Direction direction;
  private final ArrayDeque<Chunk> queue = new ArrayDeque<>();
  private Channel from;
  private Channel to;
  private volatile Faults faults;
  private long queued;
  private long lastDue;
  private long nextDeparture;
  private long budget;
  private boolean ended;
  private boolean flushPending;
  private ScheduledFuture<?> timer;
  private volatile long forwarded;

  Pipe(RelayLink link, Direction direction, Faults faults) {
    this.link = link;
    this.direction = direction;
    this.faults = faults;
    this.budget = faults.closeAfter();
    this.lastDue = System.nanoTime();
    this.nextDeparture = lastDue;
  }

  /** The faults in effect; written on the connection's loop, read from any thread. */
  Faults faults() {
    return faults;
  }

  /** Bytes written to {@code to} so far. */
  long forwarded() {
    return forwarded;
  }

  /** Both ends are connected: bytes may flow. */
  void wire(Channel from, Channel to) {
    this.from = from;
    this.to = to;
    if (budget == 0) {
      end();
    }
    updateReading();
  }

  /** New faults for this direction; a changed close-after limit counts from now. */
  void apply(Faults next) {
    boolean newBudget = next.closeAfter() != faults.closeAfter();
    faults = next;
    if (newBudget && !ended) {
      budget = next.closeAfter();
      if (budget == 0 && to != null) {
        end();
      }
    }
    if (!next.blackHole()) {
      schedule();
    }
    updateReading();
  }

  /** Bytes read from {@code from}; the pipe owns {@code buf}. */
  void read(ByteBuf buf) {
    if (ended) {
      buf.release();
      return;
    }
    if (budget >= 0 && buf.readableBytes() >= budget) {
      ByteBuf last = buf.readRetainedSlice((int) budget);
      buf.release();
      budget = 0;
      enqueue(last);
      end();
    } else {
      if (budget > 0) {
        budget -= buf.readableBytes();
      }
      enqueue(buf);
    }
    updateReading();
  }

  /** The end of a socket read: flush what was written straight through. */
  void readComplete() {
    if (flushPending) {
      flushPending = false;
      to.flush();
    }
  }

  /** {@code from} closed: the end of the stream follows the bytes still queued. */
  void sourceClosed() {
    if (!ended && to != null) {
      end();
    }
  }

  /** Writability of {@code to} changed. */
  void writabilityChanged() {
    updateReading();
  }

  /** The connection is gone: drop what is still queued. */
  void discard() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    Chunk c;
    while ((c = queue.poll()) != null) {
      if (c.buf() != null) {
        c.buf().release();
      }
    }
    queued = 0;
  }

  private void end() {
    ended = true;
    add(null, 0);
  }

  private void enqueue(ByteBuf buf) {
    long rate = faults.bytesPerSecond();
    if (rate == 0) {
      add(buf, buf.readableBytes());
      return;
    }
    int piece = (int) Math.max(1, Math.min(16 * 1024, rate / 50));
    long now = System.nanoTime();
    while (buf.isReadable()) {
      int n = Math.min(piece, buf.readableBytes());
      ByteBuf part = buf.readRetainedSlice(n);
      long start = nextDeparture - now < 0 ? now : nextDeparture;
      nextDeparture = start + n * 1_000_000_000L / rate;
      addAt(part, n, nextDeparture + faults.latency().toNanos());
    }
    buf.release();
  }

  private void add(ByteBuf buf, int size) {
    addAt(buf, size, System.nanoTime() + faults.latency().toNanos());
  }

  private void addAt(ByteBuf buf, int size, long due) {
    long d = due - lastDue < 0 ? lastDue : due; // never before the chunk ahead of it
    lastDue = d;
    if (buf != null
        && queue.isEmpty()
        && !faults.blackHole()
        && d - System.nanoTime() <= 0
        && to.isActive()) {
      write(buf, size); // nothing to wait for: straight through, flushed at the read's end
      flushPending = true;
      return;
    }
    queue.add(new Chunk(buf, d));
    queued += size;
    schedule();
  }

  private void write(ByteBuf buf, int size) {
    forwarded += size;
    link.relay().counted(direction, size);
    to.write(buf, to.voidPromise());
  }

  /** Arms the timer for the head of the queue, unless it is armed or the pipe is black-holed. */
  private void schedule() {
    Chunk head = queue.peek();
    if (head == null || timer != null || faults.blackHole() || to == null) {
      return;
    }
    long delay = Math.max(0, head.due() - System.nanoTime());
    timer = to.eventLoop().schedule(this::drain, delay, TimeUnit.NANOSECONDS);
  }

  /** Passes on every chunk that is due. */
  private void drain() {
    timer = null;
    if (faults.blackHole() || !to.isActive()) {
      return;
    }
    long now = System.nanoTime();
    boolean wrote = false;
    Chunk c;
    while ((c = queue.peek()) != null && c.due() - now <= 0) {
      queue.poll();
      if (c.buf() == null) {
        to.flush();
        link.close();
        return;
      }
      int size = c.buf().readableBytes();
      queued -= size;
      write(c.buf(), size);
      wrote = true;
    }
    if (wrote) {
      to.flush();
    }
    schedule();
    updateReading();
  }

  private void updateReading() {
    if (from == null) {
      return;
    }
    // Once the stream has ended, what still comes is read and dropped, so that closing the socket
    // sends a FIN rather than the RST the kernel sends for unread data.
    boolean read =
        !faults.blackHole() && (ended || (queued < HIGH_WATER && to.isActive() && to.isWritable()));
    if (from.config().isAutoRead() != read) {
      from.config().setAutoRead(read);
    }
  }
}
