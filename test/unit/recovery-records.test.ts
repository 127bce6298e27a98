// The pure parts of recovery: the topology records (renames, deletes,
// auto-delete queues forgotten with their last consumer) and the backoff.
import { describe, expect, it } from 'vitest';
import { TopologyRecorder } from '../../src/recovery/topology.js';
import { backoffDelay, recoveryPolicy } from '../../src/recovery/policy.js';

const queue = (name: string, o: { serverNamed?: boolean; autoDelete?: boolean } = {}) => ({
  name,
  serverNamed: o.serverNamed ?? false,
  durable: false,
  exclusive: false,
  autoDelete: o.autoDelete ?? false,
  arguments: {},
});

describe('TopologyRecorder', () => {
  it('a renamed server-named queue takes its bindings along, and every older name resolves to the newest', () => {
    const t = new TopologyRecorder();
    t.declareQueue(queue('amq.gen-1', { serverNamed: true }));
    t.bind({ kind: 'queue', destination: 'amq.gen-1', source: 'x', routingKey: 'k', arguments: {} });
    t.rename('amq.gen-1', 'amq.gen-2');
    t.rename('amq.gen-2', 'amq.gen-3');
    expect([...t.queues.keys()]).toEqual(['amq.gen-3']);
    expect(t.currentName('amq.gen-1')).toBe('amq.gen-3');
    expect(t.currentName('amq.gen-2')).toBe('amq.gen-3');
    expect([...t.bindings.values()].map((b) => b.destination)).toEqual(['amq.gen-3']);
  });

  it('deleting a queue or an exchange drops its bindings; unbind drops one; the same binding is kept once', () => {
    const t = new TopologyRecorder();
    t.declareExchange({ name: 'x', type: 'topic', durable: false, autoDelete: false, internal: false, arguments: {} });
    t.declareQueue(queue('q'));
    const b = { kind: 'queue' as const, destination: 'q', source: 'x', routingKey: 'a', arguments: {} };
    t.bind(b);
    t.bind({ ...b });
    t.bind({ ...b, routingKey: 'b' });
    t.bind({ kind: 'exchange', destination: 'y', source: 'x', routingKey: '', arguments: {} });
    expect(t.bindings.size).toBe(3);
    t.unbind({ ...b, routingKey: 'b' });
    expect(t.bindings.size).toBe(2);
    t.deleteQueue('q');
    expect(t.queues.size).toBe(0);
    expect(t.bindings.size).toBe(1);
    t.deleteExchange('x');
    expect(t.exchanges.size).toBe(0);
    expect(t.bindings.size).toBe(0);
  });

  it('an auto-delete queue is forgotten when its last consumer is cancelled, not before; others stay', () => {
    const t = new TopologyRecorder();
    t.declareQueue(queue('auto', { autoDelete: true }));
    t.declareQueue(queue('kept'));
    t.consumerAdded('auto');
    t.consumerAdded('auto');
    t.consumerAdded('kept');
    t.consumerCancelled('auto');
    expect(t.queues.has('auto')).toBe(true);
    t.consumerCancelled('auto');
    expect(t.queues.has('auto')).toBe(false);
    t.consumerCancelled('kept');
    expect(t.queues.has('kept')).toBe(true);
  });
});

describe('recovery policy and backoff', () => {
  it('defaults, off, and bad values', () => {
    expect(recoveryPolicy(undefined)).toBeNull();
    expect(recoveryPolicy(false)).toBeNull();
    expect(recoveryPolicy(true)).toEqual({ initialDelay: 100, maxDelay: 10_000, maxAttempts: Infinity, topology: true });
    expect(() => recoveryPolicy({ initialDelay: -1 })).toThrow(TypeError);
    expect(() => recoveryPolicy({ maxAttempts: 0 })).toThrow(TypeError);
    expect(() => recoveryPolicy('yes' as never)).toThrow(TypeError);
  });

  it('full jitter over min(maxDelay, initialDelay × 2^(n−1))', () => {
    const p = recoveryPolicy({ initialDelay: 100, maxDelay: 1000 })!;
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(p, n, () => 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelay(p, 3, () => 0)).toBe(0);
    expect(backoffDelay(p, 3, () => 0.5)).toBe(200);
  });
});
