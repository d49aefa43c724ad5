package dev.sluice.session;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ServerStatementsTest {
  private static final StatementKey Q = new StatementKey("SELECT * FROM t", new int[0], "");

  @Test
  void aStalePlanOnOneBackendRetiresEveryBackendsCopy() {
    StatementGenerations pool = new StatementGenerations();
    ServerStatements a = new ServerStatements(10, pool);
    ServerStatements b = new ServerStatements(10, pool);
    String onA = a.add(Q);
    String onB = b.add(Q);

    a.discardEverywhere(Q);

    assertThat(a.lookup(Q)).isNull();
    assertThat(a.takeEvicted()).containsExactly(onA);
    // b's copy was prepared against the old tables too: it is closed and prepared afresh
    assertThat(b.lookup(Q)).isNull();
    assertThat(b.takeEvicted()).containsExactly(onB);
    String fresh = b.add(Q);
    assertThat(b.lookup(Q)).isEqualTo(fresh).isNotEqualTo(onB);
  }

  @Test
  void theLeastRecentlyUsedIsEvictedBeyondCapacity() {
    ServerStatements s = new ServerStatements(2);
    StatementKey k1 = new StatementKey("SELECT 1", new int[0], "");
    StatementKey k2 = new StatementKey("SELECT 2", new int[0], "");
    StatementKey k3 = new StatementKey("SELECT 3", new int[0], "");
    String n1 = s.add(k1);
    s.add(k2);
    s.lookup(k1);
    String n2 = s.lookup(k2);
    s.lookup(k1);
    s.add(k3);
    assertThat(s.takeEvicted()).containsExactly(n2);
    assertThat(s.lookup(k1)).isEqualTo(n1);
    assertThat(s.evictions()).isEqualTo(1);
  }
}
