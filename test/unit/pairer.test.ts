import { describe, expect, it } from 'vitest';
import type { FlowL7 } from '../../core/l7/dispatcher.js';
import type { L7Message } from '../../core/l7/types.js';
import { MSG_REQUEST, MSG_RESPONSE, SESSION_FIFO } from '../../core/l7/types.js';
import { SessionPairer } from '../../core/session/pairer.js';

interface Ex {
  req: string | null;
  resp: string | null;
  outcome: string;
  endTs: number;
}

function setup(limits = {}) {
  const got: Ex[] = [];
  const pairer = new SessionPairer(
    {
      onExchange(_st, req, resp, outcome, endTs) {
        got.push({ req: req ? (req.info as string) : null, resp: resp ? (resp.info as string) : null, outcome, endTs });
      },
    },
    limits,
  );
  const flow = () => ({ pairing: null }) as unknown as FlowL7;
  return { got, pairer, flow };
}

function msg(type: number, info: string, ts: number, sessionId = SESSION_FIFO, expectsResponse = true): L7Message {
  return { type, sessionId, startTs: ts, endTs: ts + 1, size: 1, attrs: {}, expectsResponse, trace: null, afterGap: false, info };
}

describe('SessionPairer', () => {
  it('pairs in order (pipelining)', () => {
    const { got, pairer, flow } = setup();
    const f = flow();
    pairer.onMessage(f, msg(MSG_REQUEST, 'a', 0));
    pairer.onMessage(f, msg(MSG_REQUEST, 'b', 1));
    pairer.onMessage(f, msg(MSG_RESPONSE, 'A', 10));
    pairer.onMessage(f, msg(MSG_RESPONSE, 'B', 20));
    expect(got).toEqual([
      { req: 'a', resp: 'A', outcome: '', endTs: 11 },
      { req: 'b', resp: 'B', outcome: '', endTs: 21 },
    ]);
    expect(pairer.stats.paired).toBe(2);
  });

  it('pairs by id regardless of order and keeps flows apart', () => {
    const { got, pairer, flow } = setup();
    const f1 = flow();
    const f2 = flow();
    pairer.onMessage(f1, msg(MSG_REQUEST, 'x1', 0, 7));
    pairer.onMessage(f2, msg(MSG_REQUEST, 'y1', 0, 7));
    pairer.onMessage(f1, msg(MSG_REQUEST, 'x2', 1, 9));
    pairer.onMessage(f1, msg(MSG_RESPONSE, 'X2', 5, 9));
    pairer.onMessage(f2, msg(MSG_RESPONSE, 'Y1', 6, 7));
    pairer.onMessage(f1, msg(MSG_RESPONSE, 'X1', 7, 7));
    expect(got.map((g) => `${g.req}-${g.resp}`)).toEqual(['x2-X2', 'y1-Y1', 'x1-X1']);
  });

  it('reports a response without request, counted', () => {
    const { got, pairer, flow } = setup();
    pairer.onMessage(flow(), msg(MSG_RESPONSE, 'R', 3));
    expect(got).toEqual([{ req: null, resp: 'R', outcome: 'orphan', endTs: 4 }]);
    expect(pairer.stats.responsesWithoutRequest).toBe(1);
  });

  it('times out unanswered requests on the capture clock, and a late response is then an orphan', () => {
    const { got, pairer, flow } = setup({ requestTimeoutNs: 100 });
    const f = flow();
    pairer.onMessage(f, msg(MSG_REQUEST, 'a', 0));
    pairer.onMessage(f, msg(MSG_REQUEST, 'b', 50));
    pairer.advance(99);
    expect(got).toEqual([]);
    pairer.advance(100);
    expect(got).toEqual([{ req: 'a', resp: null, outcome: 'timeout', endTs: 100 }]);
    pairer.onMessage(f, msg(MSG_RESPONSE, 'B', 120));
    expect(got[1]).toEqual({ req: 'b', resp: 'B', outcome: '', endTs: 121 });
    expect(pairer.stats.timeouts).toBe(1);
  });

  it('settles what is still waiting when the flow ends, as no_response', () => {
    const { got, pairer, flow } = setup();
    const f = flow();
    pairer.onMessage(f, msg(MSG_REQUEST, 'a', 0));
    pairer.onMessage(f, msg(MSG_REQUEST, 'b', 5, 3));
    pairer.onFlowEnd(f, 'capture_end', 100);
    expect(got).toEqual([
      { req: 'a', resp: null, outcome: 'no_response', endTs: 1 },
      { req: 'b', resp: null, outcome: 'no_response', endTs: 6 },
    ]);
    pairer.advance(1e12);
    expect(got.length).toBe(2);
  });

  it('emits a one-way request at once', () => {
    const { got, pairer, flow } = setup();
    pairer.onMessage(flow(), msg(MSG_REQUEST, 'fire', 0, SESSION_FIFO, false));
    expect(got).toEqual([{ req: 'fire', resp: null, outcome: 'one_way', endTs: 1 }]);
  });

  it('caps the requests waiting per flow, settling the oldest first', () => {
    const { got, pairer, flow } = setup({ maxPendingPerFlow: 2 });
    const f = flow();
    for (let i = 0; i < 4; i++) pairer.onMessage(f, msg(MSG_REQUEST, `r${i}`, i));
    expect(got.map((g) => `${g.req}:${g.outcome}`)).toEqual(['r0:no_response', 'r1:no_response']);
    expect(pairer.stats.pendingOverflow).toBe(2);
    pairer.onMessage(f, msg(MSG_RESPONSE, 'R2', 10));
    expect(got[2]).toMatchObject({ req: 'r2', resp: 'R2' });
  });

  it('settles a request whose id is reused while it waits', () => {
    const { got, pairer, flow } = setup();
    const f = flow();
    pairer.onMessage(f, msg(MSG_REQUEST, 'first', 0, 1));
    pairer.onMessage(f, msg(MSG_REQUEST, 'second', 5, 1));
    pairer.onMessage(f, msg(MSG_RESPONSE, 'R', 9, 1));
    expect(got.map((g) => `${g.req}-${g.resp}-${g.outcome}`)).toEqual(['first-null-no_response', 'second-R-']);
    expect(pairer.stats.duplicateIds).toBe(1);
  });
});
