import { cpus, freemem, loadavg, totalmem } from 'node:os';

export interface HostLoadSample {
  /** One-minute load average. */
  load: number;
  /** Share of CPU time spent busy, 0 to 1, since the previous sample (since boot for the first). */
  cpu: number;
  /** Share of memory in use, 0 to 1. */
  mem: number;
}

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    busy += times.user + times.nice + times.sys + times.irq;
    total += times.user + times.nice + times.sys + times.irq + times.idle;
  }
  return { busy, total };
}

/** The host's load in the units of Nacos's `/operator/metrics`, which monitoring scripts read. */
export class HostLoad {
  private last = { busy: 0, total: 0 };

  sample(): HostLoadSample {
    const now = cpuTimes();
    const total = now.total - this.last.total;
    const cpu = total > 0 ? (now.busy - this.last.busy) / total : 0;
    this.last = now;
    return { load: loadavg()[0] ?? 0, cpu, mem: 1 - freemem() / totalmem() };
  }
}
