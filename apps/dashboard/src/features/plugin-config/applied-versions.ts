import type { AppliedVersion } from './config-api';

export interface AppliedSummary {
  /** Instances by the version they run, newest version first. */
  groups: { version: number; instanceIds: string[] }[];
  /** Instances whose plugin refused a version (they kept the one they ran). */
  refused: { instanceId: string; rejected: number; kept: number }[];
  /** Instances that run the version meant for them (the service's, or their overrides'). */
  current: number;
  /** Instances that have not applied the version meant for them and have not refused it: it is on its way. */
  waiting: number;
}

/** Which instances run which configuration version, which are still to apply theirs, and which refused one. */
export function summarizeApplied(applied: readonly AppliedVersion[]): AppliedSummary {
  const byVersion = new Map<number, string[]>();
  const refused: AppliedSummary['refused'] = [];
  let current = 0;
  let waiting = 0;
  for (const { instanceId, version, rejected, target } of applied) {
    byVersion.set(version, [...(byVersion.get(version) ?? []), instanceId]);
    if (rejected !== null) refused.push({ instanceId, rejected, kept: version });
    if (version === target) current++;
    else if (rejected !== target) waiting++;
  }
  const groups = [...byVersion]
    .map(([version, instanceIds]) => ({ version, instanceIds: instanceIds.sort() }))
    .sort((a, b) => b.version - a.version);
  return { groups, refused, current, waiting };
}
