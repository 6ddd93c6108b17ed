import { describe, expect, it, vi } from 'vitest';
import { DeliveryQueue } from './delivery-queue.js';

/** A job that finishes only when the test says so. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('DeliveryQueue', () => {
  it('does no work inside push: the caller never waits and never sees an error', async () => {
    const work = vi.fn(async () => {
      throw new Error('target down');
    });
    const onError = vi.fn();
    const queue = new DeliveryQueue<number>({ capacity: 10, concurrency: 1, work, onOverflow: vi.fn(), onError });
    expect(() => queue.push(1)).not.toThrow();
    expect(work).not.toHaveBeenCalled();
    await tick();
    await tick();
    expect(work).toHaveBeenCalledWith(1);
    expect(onError).toHaveBeenCalledWith(new Error('target down'));
  });

  it('works items in order, at most `concurrency` at once', async () => {
    const started: number[] = [];
    const gates = new Map<number, ReturnType<typeof gate>>();
    const queue = new DeliveryQueue<number>({
      capacity: 10,
      concurrency: 1,
      work: (n) => {
        started.push(n);
        const g = gate();
        gates.set(n, g);
        return g.opened;
      },
      onOverflow: vi.fn(),
      onError: vi.fn(),
    });
    queue.push(1);
    queue.push(2);
    queue.push(3);
    await tick();
    expect(started).toEqual([1]);
    expect(queue.size).toBe(2);
    gates.get(1)!.open();
    await tick();
    expect(started).toEqual([1, 2]);
    gates.get(2)!.open();
    await tick();
    expect(started).toEqual([1, 2, 3]);
  });

  it('drops the oldest waiting item when full, and counts it', async () => {
    const worked: number[] = [];
    const g = gate();
    const onOverflow = vi.fn();
    const queue = new DeliveryQueue<number>({
      capacity: 3,
      concurrency: 1,
      work: async (n) => {
        worked.push(n);
        if (n === 0) await g.opened;
      },
      onOverflow,
      onError: vi.fn(),
    });
    queue.push(0);
    await tick(); // 0 is now in flight, so the queue is empty again
    for (let n = 1; n <= 5; n++) queue.push(n);
    expect(queue.size).toBe(3);
    expect(onOverflow).toHaveBeenCalledTimes(2);
    g.open();
    await vi.waitFor(() => expect(worked).toEqual([0, 3, 4, 5]), { timeout: 10_000 });
  });

  it('clear forgets waiting items and answers how many', async () => {
    const queue = new DeliveryQueue<number>({
      capacity: 10,
      concurrency: 1,
      work: () => new Promise(() => {}),
      onOverflow: vi.fn(),
      onError: vi.fn(),
    });
    queue.push(1);
    queue.push(2);
    queue.push(3);
    expect(queue.clear()).toBe(3);
    expect(queue.size).toBe(0);
  });
});
