export interface DeliveryQueueOptions<T> {
  capacity: number;
  concurrency: number;
  work: (item: T) => Promise<void>;
  /** Called with 1 each time a push into a full queue drops the oldest item. */
  onOverflow: (dropped: number) => void;
  /** A `work` that rejected: logged by the owner, never thrown at whoever pushed. */
  onError: (error: unknown) => void;
}

/**
 * A bounded FIFO worked by at most `concurrency` jobs at once. `push` only stores the item and
 * schedules the work for later, so the caller (the event path) never waits on delivery, never
 * sees its errors, and memory stays bounded however slow or dead the target is.
 */
export class DeliveryQueue<T> {
  private items: T[] = [];
  private running = 0;
  private scheduled = false;

  constructor(private readonly options: DeliveryQueueOptions<T>) {}

  /** Items waiting, not counting those being worked on. */
  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    // When the target cannot keep up, the newest events are the ones worth sending.
    if (this.items.length >= this.options.capacity) {
      this.items.shift();
      this.options.onOverflow(1);
    }
    this.items.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.pump();
      });
    }
  }

  /** Forgets every waiting item and answers how many there were; jobs already running finish. */
  clear(): number {
    const count = this.items.length;
    this.items = [];
    return count;
  }

  private pump(): void {
    while (this.running < this.options.concurrency && this.items.length > 0) {
      const item = this.items.shift()!;
      this.running++;
      this.options
        .work(item)
        .catch(this.options.onError)
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }
}
