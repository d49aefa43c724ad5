package dev.sluice.session;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class OwedAnswersTest {
  @Test
  void eachAnswerSaysHowLongTheOldestOwedRequestTook() {
    OwedAnswers o = new OwedAnswers();
    o.requested(100);
    o.requested(130);
    o.requested(170);

    assertThat(o.answered(200)).isEqualTo(100);
    assertThat(o.answered(210)).isEqualTo(80);
    assertThat(o.owed()).isEqualTo(1);
    assertThat(o.answered(400)).isEqualTo(230);
    assertThat(o.owed()).isZero();
  }

  @Test
  void anAnswerNothingWasOwedForTakesNoTime() {
    OwedAnswers o = new OwedAnswers();
    assertThat(o.answered(50)).isEqualTo(-1);
    assertThat(o.idleNanos(80)).isEqualTo(30);
  }

  @Test
  void aLongPipelineKeepsEveryArrivalInOrder() {
    OwedAnswers o = new OwedAnswers();
    o.requested(0);
    o.requested(1);
    assertThat(o.answered(10)).isEqualTo(10); // the ring's start has moved before it grows
    for (int i = 2; i < 100; i++) {
      o.requested(i);
    }
    assertThat(o.owed()).isEqualTo(99);
    for (int i = 1; i < 100; i++) {
      assertThat(o.answered(1_000)).isEqualTo(1_000 - i);
    }
    assertThat(o.owed()).isZero();
  }

  @Test
  void clearForgetsTheArrivals() {
    OwedAnswers o = new OwedAnswers();
    o.requested(5);
    o.requested(6);
    o.clear();
    o.requested(50);
    assertThat(o.answered(70)).isEqualTo(20);
    assertThat(o.owed()).isZero();
  }
}
