import { useCallback, useEffect, useState } from 'react';
import { ApiError } from '../../api/http';
import { useLive, useLiveStore } from '../../live/live-context';
import { listCommands, type CommandFilter, type PluginCommandState } from './commands-api';
import { concerns, isFinal, mergeCommands, withOutcomes } from './command-progress';

/** While a command waits for its agent, the list is read again this often (a command can also expire, which no agent reports). */
const POLL_MS = 3_000;
/** Events come in bursts (one per instance of a service): one read after the burst. */
const SETTLE_MS = 250;

export interface PluginCommands {
  /** Newest first. */
  commands: readonly PluginCommandState[];
  error: string | null;
  /** Adds commands just sent, before the list is read again. */
  track(commands: readonly PluginCommandState[]): void;
}

/**
 * The plugin commands a filter selects, kept current: read from the API, then moved on by the
 * agents' outcome events as they arrive live (and read again after them, on a reconnect, and
 * every few seconds while some still wait). `null`: nothing to list.
 */
export function usePluginCommands(filter: CommandFilter | null): PluginCommands {
  const store = useLiveStore();
  const epoch = useLive((s) => s.epoch);
  const key = filter && JSON.stringify(filter);
  const [state, setState] = useState<{ key: string | null; commands: readonly PluginCommandState[] }>({ key, commands: [] });
  const [error, setError] = useState<string | null>(null);
  const [reads, setReads] = useState(0);
  const commands = state.key === key ? state.commands : [];

  useEffect(() => {
    if (key === null) return;
    const abort = new AbortController();
    listCommands(JSON.parse(key) as CommandFilter, abort.signal).then(
      (list) => {
        setState((current) => ({ key, commands: mergeCommands(current.key === key ? current.commands : [], list) }));
        setError(null);
      },
      (e: unknown) => {
        if (!abort.signal.aborted) setError(e instanceof ApiError ? e.message : String(e));
      },
    );
    return () => abort.abort();
  }, [key, epoch, reads]);

  useEffect(() => {
    if (key === null) return;
    const parsed = JSON.parse(key) as CommandFilter;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = store.onEvents((events) => {
      const mine = events.filter((e) => concerns(e, parsed));
      if (mine.length === 0) return;
      setState((current) => (current.key === key ? { key, commands: withOutcomes(current.commands, mine) } : current));
      clearTimeout(timer);
      timer = setTimeout(() => setReads((n) => n + 1), SETTLE_MS);
    });
    return () => {
      stop();
      clearTimeout(timer);
    };
  }, [store, key]);

  const waiting = commands.some((c) => !isFinal(c.state));
  useEffect(() => {
    if (!waiting) return;
    const timer = setInterval(() => setReads((n) => n + 1), POLL_MS);
    return () => clearInterval(timer);
  }, [waiting]);

  const track = useCallback(
    (sent: readonly PluginCommandState[]) =>
      setState((current) => ({ key, commands: mergeCommands(current.key === key ? current.commands : [], sent) })),
    [key],
  );
  return { commands, error, track };
}
