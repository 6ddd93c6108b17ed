import { METRIC_FIELDS, type BeatMetrics, type InstanceMetrics } from '@vigil/protocol';

/** Slots per chunk: 4,096 instances of 12 doubles is 384 KiB. */
const CHUNK_SLOTS = 4096;
/** Per slot: the METRIC_FIELDS figures (NaN: not sampled), then `sampledAt`. */
const STRIDE = METRIC_FIELDS.length + 1;
const SAMPLED_AT = METRIC_FIELDS.length;

/**
 * The latest metrics of every instance, by the registry's slot (as the arrival log): 12 doubles
 * per instance in Float64Array chunks off the JS heap, written by each beat that brings metrics.
 * A beat writes 96 contiguous bytes and allocates nothing. As a JS object with a boxed double per
 * field, written in place, the same cost 230 bytes of heap per instance and a beat touched a
 * dozen scattered objects (0.5 to 0.8 µs of a beat's 1.2 µs). The API's `metrics` object is a
 * `MetricsView` over the slot, made once per instance.
 */
export class MetricsTable {
  private readonly chunks: Float64Array[] = [];
  /** Per slot: bumped when its instance goes, so a view kept by someone after that reads nothing. */
  private generations = new Uint32Array(CHUNK_SLOTS);

  /** A beat's figures (METRIC_FIELDS order) at `sampledAt` become the slot's latest. */
  write(slot: number, figures: BeatMetrics, sampledAt: number): void {
    const chunk = this.chunkOf(slot);
    const base = (slot % CHUNK_SLOTS) * STRIDE;
    for (let i = 0; i < SAMPLED_AT; i++) chunk[base + i] = figures[i] ?? NaN;
    chunk[base + SAMPLED_AT] = sampledAt;
  }

  /** Metrics as the API shows them (another replica's) become the slot's latest. */
  writeObject(slot: number, metrics: InstanceMetrics): void {
    this.write(
      slot,
      METRIC_FIELDS.map((field) => metrics[field]),
      metrics.sampledAt,
    );
  }

  /** A view of the slot's latest metrics, for its current instance. */
  view(slot: number): MetricsView {
    this.chunkOf(slot);
    return new MetricsView(this, slot, this.generations[slot]!);
  }

  /** The slot's instance is gone. */
  release(slot: number): void {
    if (slot < this.generations.length) this.generations[slot] = this.generations[slot]! + 1;
  }

  /** The i-th figure of the slot (SAMPLED_AT: when); null when not sampled, or when `generation` is not the slot's now. */
  figure(slot: number, generation: number, i: number): number | null {
    if (this.generations[slot] !== generation) return null;
    const value = this.chunks[(slot / CHUNK_SLOTS) | 0]![(slot % CHUNK_SLOTS) * STRIDE + i]!;
    return Number.isNaN(value) ? null : value;
  }

  private chunkOf(slot: number): Float64Array {
    const index = (slot / CHUNK_SLOTS) | 0;
    while (this.chunks.length <= index) this.chunks.push(new Float64Array(CHUNK_SLOTS * STRIDE).fill(NaN));
    if (slot >= this.generations.length) {
      const generations = new Uint32Array(this.chunks.length * CHUNK_SLOTS);
      generations.set(this.generations);
      this.generations = generations;
    }
    return this.chunks[index]!;
  }
}

/**
 * An instance's latest metrics, read from the table when asked: what `Instance.metrics` holds
 * once a beat brought metrics. Reads as an `InstanceMetrics` (getters), and serialises as one
 * (`toJSON`: REST answers, socket.io deltas, the redis store's instance JSON).
 */
export class MetricsView implements InstanceMetrics {
  constructor(
    private readonly table: MetricsTable,
    private readonly slot: number,
    private readonly generation: number,
  ) {}

  private at(i: number): number | null {
    return this.table.figure(this.slot, this.generation, i);
  }

  get cpu(): number | null {
    return this.at(0);
  }
  get rss(): number | null {
    return this.at(1);
  }
  get heapUsed(): number | null {
    return this.at(2);
  }
  get heapLimit(): number | null {
    return this.at(3);
  }
  get eventLoopDelayP50(): number | null {
    return this.at(4);
  }
  get eventLoopDelayP99(): number | null {
    return this.at(5);
  }
  get eventLoopDelayMax(): number | null {
    return this.at(6);
  }
  get eventLoopUtilization(): number | null {
    return this.at(7);
  }
  get gcPauseMs(): number | null {
    return this.at(8);
  }
  get uptime(): number | null {
    return this.at(9);
  }
  get activeHandles(): number | null {
    return this.at(10);
  }
  get sampledAt(): number {
    return this.at(SAMPLED_AT) ?? 0;
  }

  toJSON(): InstanceMetrics {
    return {
      cpu: this.cpu,
      rss: this.rss,
      heapUsed: this.heapUsed,
      heapLimit: this.heapLimit,
      eventLoopDelayP50: this.eventLoopDelayP50,
      eventLoopDelayP99: this.eventLoopDelayP99,
      eventLoopDelayMax: this.eventLoopDelayMax,
      eventLoopUtilization: this.eventLoopUtilization,
      gcPauseMs: this.gcPauseMs,
      uptime: this.uptime,
      activeHandles: this.activeHandles,
      sampledAt: this.sampledAt,
    };
  }
}

/** The figures of metrics, in METRIC_FIELDS order (the wire form: what the redis feed carries for a beat). */
export function figuresOf(metrics: InstanceMetrics): BeatMetrics {
  return METRIC_FIELDS.map((field) => metrics[field]);
}
