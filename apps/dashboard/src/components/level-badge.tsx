import type { EventLevel } from '@vigil/protocol';

/** An event level as a word, coloured like Sermant's: emergency red, important amber, normal neutral. */
export function LevelBadge({ level }: { level: EventLevel }) {
  return <span className={`level-badge level-badge--${level}`}>{level}</span>;
}
