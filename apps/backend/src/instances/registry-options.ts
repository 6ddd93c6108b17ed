import type { Timings } from './timings.js';

/** How the registry judges instances (registry.module.ts builds it from the configuration). */
export interface RegistryOptions {
  /** Global defaults; metadata may override them per instance. */
  timings: Timings;
  /** Beats missed before an overdue instance is `suspect` (k in k-missed-intervals). */
  suspectAfterIntervals: number;
  /** Period of the tick that calls `tick()`. */
  tickMs: number;
  /** A gap between two ticks longer than this means the backend itself stalled. */
  stallThresholdMs: number;
  selfPreservation: {
    /** Smallest fleet (ephemeral instances) it applies to. */
    minInstances: number;
    /** Share of the fleet overdue or recently lost that makes a mass expiry suspicious. */
    ratio: number;
  };
  /** Arrival times kept per instance for the jitter sparkline. */
  historySize: number;
}
