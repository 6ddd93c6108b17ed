/** What the agent does as the process ends. */
export interface Farewell {
  /** Says goodbye (beat and last events) asynchronously; `budgetMs` bounds each request. Never rejects. */
  run(reason: string, budgetMs: number): Promise<void>;
  /** Says whatever goodbye is still owed, blocking for at most `budgetMs`. Never throws. */
  runSync(reason: string, budgetMs: number): void;
}

/** The parts of `process` the hooks use; tests pass a stand-in. */
export type HostProcess = Pick<NodeJS.Process, 'on' | 'removeListener' | 'listenerCount' | 'kill' | 'pid'>;

export interface ShutdownHooksOptions {
  farewell: Farewell;
  /** Longest the agent may delay the host's exit, across all paths together. */
  budgetMs: number;
  host?: HostProcess;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Says goodbye when the process ends, without changing how it ends:
 * - SIGTERM/SIGINT that nothing else listens to: Node's default is to die by the signal. The
 *   agent's listener removes itself (a second signal now kills at once, as it would have), says
 *   goodbye over the kept-alive connection, and raises the signal again after at most the
 *   budget: the process ends exactly as Node would have ended it (killed by the signal, shell
 *   code 128+n).
 * - SIGTERM/SIGINT the host listens to: the host decides, and may exit at once, synchronously,
 *   so the goodbye is sent synchronously first (within the budget). The agent's listener removes
 *   itself before the host's run, so they see the listeners as they would be without the agent
 *   (signal-exit, for one, re-raises the signal only when it is the last listener).
 * - The event loop running dry ('beforeExit'): goodbye over the kept-alive connection, a ref'd
 *   timer holding the loop open for at most the budget.
 * - process.exit() or a crash ('exit', synchronous): whatever goodbye is still owed is sent
 *   synchronously, within what is left of the budget.
 * Sending synchronously costs a short-lived thread, so it is kept for the paths that need it.
 */
export function installShutdownHooks({ farewell, budgetMs, host = process }: ShutdownHooksOptions): void {
  let startedAt: number | undefined;
  let leaving: Promise<void> | undefined;
  let done = false;

  const sayNow = (reason: string): void => {
    if (done) return;
    done = true;
    const left = budgetMs - (startedAt === undefined ? 0 : Date.now() - startedAt);
    if (left > 0) farewell.runSync(reason, left);
  };

  const sayAsync = (reason: string): Promise<void> => {
    if (done) return Promise.resolve();
    if (leaving === undefined) {
      startedAt = Date.now();
      let timer: NodeJS.Timeout | undefined;
      // A ref'd timer: the goodbye gets its chance although nothing else may keep the loop alive.
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, budgetMs)));
      leaving = Promise.race([farewell.run(reason, budgetMs), deadline]).then(() => {
        clearTimeout(timer);
        done = true;
      });
    }
    return leaving;
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    host.removeListener(signal, onSignal);
    if (host.listenerCount(signal) > 0) {
      sayNow(signal);
      return;
    }
    void sayAsync(signal).then(() => host.kill(host.pid, signal));
  };

  for (const signal of SIGNALS) host.on(signal, onSignal);
  host.on('beforeExit', () => void sayAsync('exit'));
  host.on('exit', () => sayNow('exit'));
}
