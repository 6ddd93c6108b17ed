import { useSyncExternalStore } from 'react';
import { ConnectionIndicator } from './components/connection-indicator';
import { ClockOffsetContext } from './components/relative-time';
import { InstanceSummary } from './features/instances/instance-summary';
import { InstanceTable } from './features/instances/instance-table';
import type { InstanceStore } from './live/instance-store';

export function App({ store }: { store: InstanceStore }) {
  const { instances, synced, connection, clockOffsetMs } = useSyncExternalStore(store.subscribe, store.getSnapshot);
  return (
    <ClockOffsetContext value={clockOffsetMs}>
      <header className="app-header">
        <h1>Vigil</h1>
        <ConnectionIndicator state={connection} />
      </header>
      <main className="app-main">
        <InstanceSummary instances={instances} synced={synced} />
        {synced ? <InstanceTable instances={instances} /> : <p className="empty-state">Waiting for the backend…</p>}
      </main>
    </ClockOffsetContext>
  );
}
