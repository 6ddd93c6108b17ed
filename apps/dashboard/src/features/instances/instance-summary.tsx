import { useMemo } from 'react';
import type { Instance } from '@vigil/protocol';
import { summarizeInstances, type InstanceSummary as Summary } from './summarize-instances';

const CARDS: { key: keyof Summary; label: string }[] = [
  { key: 'total', label: 'Instances' },
  { key: 'healthy', label: 'Healthy' },
  { key: 'suspect', label: 'Suspect' },
  { key: 'lost', label: 'Lost' },
  { key: 'offline', label: 'Offline' },
  { key: 'services', label: 'Services' },
  { key: 'apps', label: 'Apps' },
];

/** Count cards. Before the first snapshot the counts are unknown and shown as "–", not 0. */
export function InstanceSummary({ instances, synced }: { instances: readonly Instance[]; synced: boolean }) {
  const summary = useMemo(() => summarizeInstances(instances), [instances]);
  return (
    <dl className="summary" aria-label="Summary">
      {CARDS.map(({ key, label }) => (
        <div key={key} className={`summary-card summary-card--${key}`} data-testid={`count-${key}`}>
          <dt>{label}</dt>
          <dd>{synced ? summary[key] : '–'}</dd>
        </div>
      ))}
    </dl>
  );
}
