import {
  monitorEventLoopDelay,
  performance,
  PerformanceObserver,
  type EventLoopUtilization,
  type IntervalHistogram,
} from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { METRIC_FIELDS } from '../protocol';
import type { BeatMetrics } from '../protocol';

/**
 * Period of the event-loop delay histogram's timer, ms. Node's histogram records the time between
 * two runs of an unref'd timer of this period, so each sample is the period plus the delay: the
 * period is taken off again. 20 ms rather than Node's default 10 halves the wake-ups of an idle
 * service; a delay of any length still shows, with fewer samples in the percentiles.
 */
export const DELAY_RESOLUTION_MS = 20;

type MetricField = (typeof METRIC_FIELDS)[number];

/**
 * The runtime metrics of the process, sampled once per beat (never on a request's path): each
 * figure of a beat covers the time since the previous sample. Everything a sample reads is a
 * counter Node keeps anyway (cpu, memory, event-loop utilization) or a running total kept off the
 * request path: the event-loop delay histogram (a native timer) and GC pause time (a
 * PerformanceObserver called once per batch of GC entries). A figure that cannot be read is null;
 * sample() never throws. stop() releases the histogram and the observer.
 */
export class RuntimeMetrics {
  private readonly delay: IntervalHistogram | undefined;
  private readonly gc: PerformanceObserver | undefined;
  private gcPauseMs = 0;
  private sampledAt: number;
  private cpu: NodeJS.CpuUsage | undefined;
  private elu: EventLoopUtilization | undefined;

  constructor() {
    this.sampledAt = performance.now();
    this.cpu = attempt(() => process.cpuUsage());
    this.elu = attempt(() => performance.eventLoopUtilization());
    this.delay = attempt(() => {
      const histogram = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
      histogram.enable();
      return histogram;
    });
    this.gc = attempt(() => {
      const observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) this.gcPauseMs += entry.duration;
      });
      observer.observe({ entryTypes: ['gc'] });
      return observer;
    });
  }

  /** The figures since the previous sample, in METRIC_FIELDS order. */
  sample(): BeatMetrics {
    const now = performance.now();
    const elapsedMs = now - this.sampledAt;
    this.sampledAt = now;
    const figures: Record<MetricField, number | null> = {
      cpu: this.cpuPercent(elapsedMs),
      rss: read(() => process.memoryUsage.rss()),
      heapUsed: null,
      heapLimit: null,
      eventLoopDelayP50: null,
      eventLoopDelayP99: null,
      eventLoopDelayMax: null,
      eventLoopUtilization: this.utilization(),
      gcPauseMs: this.gc === undefined ? null : round(this.gcPauseMs, 2),
      uptime: read(() => Math.round(process.uptime())),
      activeHandles: read(() => process.getActiveResourcesInfo().length),
    };
    this.gcPauseMs = 0;
    const heap = attempt(() => getHeapStatistics());
    if (heap !== undefined) {
      figures.heapUsed = read(() => heap.used_heap_size);
      figures.heapLimit = read(() => heap.heap_size_limit);
    }
    this.readDelay(figures, elapsedMs);
    return METRIC_FIELDS.map((field) => figures[field]);
  }

  stop(): void {
    attempt(() => this.delay?.disable());
    attempt(() => this.gc?.disconnect());
  }

  /** CPU time (user + system, every thread) over wall time since the previous sample, % of one core. */
  private cpuPercent(elapsedMs: number): number | null {
    const previous = this.cpu;
    this.cpu = attempt(() => process.cpuUsage());
    if (previous === undefined || this.cpu === undefined || elapsedMs <= 0) return null;
    const usedMs = (this.cpu.user - previous.user + this.cpu.system - previous.system) / 1000;
    return read(() => round((usedMs / elapsedMs) * 100, 1));
  }

  /** Share of the time since the previous sample the event loop was busy, 0 to 1. */
  private utilization(): number | null {
    const previous = this.elu;
    this.elu = attempt(() => performance.eventLoopUtilization());
    if (previous === undefined || this.elu === undefined) return null;
    const current = this.elu;
    return read(() => round(performance.eventLoopUtilization(current, previous).utilization, 3));
  }

  /**
   * p50, p99 and max of the delays since the previous sample, ms. No sample at all means the loop
   * never let the histogram's timer run since then: it has been late by at least the time elapsed.
   * A blind spot, Node's: reset() also forgets when the timer last ran, so the timer's first run
   * after a sample only notes the time; a block that starts within one resolution (20 ms) after
   * a sample is not seen (measured on Node 20.20). That is 0.4 % of a 5 s interval; a separate
   * JS timer would see it, at the cost of a JS callback every 20 ms in every service.
   */
  private readDelay(figures: Record<MetricField, number | null>, elapsedMs: number): void {
    const histogram = this.delay;
    if (histogram === undefined) return;
    try {
      const delayMs = (ns: number) => round(Math.max(0, ns / 1e6 - DELAY_RESOLUTION_MS), 2);
      if (histogram.count === 0) {
        const late = round(Math.max(0, elapsedMs - DELAY_RESOLUTION_MS), 2);
        figures.eventLoopDelayP50 = figures.eventLoopDelayP99 = figures.eventLoopDelayMax = late;
      } else {
        figures.eventLoopDelayP50 = delayMs(histogram.percentile(50));
        figures.eventLoopDelayP99 = delayMs(histogram.percentile(99));
        figures.eventLoopDelayMax = delayMs(histogram.max);
      }
      histogram.reset();
    } catch {
      // Left null: a figure that cannot be read never costs the beat.
    }
  }
}

/** `fn()`, or undefined if it throws. */
function attempt<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/** A figure as the wire takes it: a finite non-negative number, else null. */
function read(fn: () => number): number | null {
  const value = attempt(fn);
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
