import type { InstanceStatus } from '@vigil/protocol';

/** The status as a word; the colour only repeats it. */
export function StatusBadge({ status }: { status: InstanceStatus }) {
  return <span className={`status-badge status-badge--${status}`}>{status}</span>;
}
