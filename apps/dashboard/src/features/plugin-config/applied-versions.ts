import type { AppliedVersion } from './config-api';

export interface AppliedSummary {
  /** Instances by the version they run, newest version first. */
  groups: { version: number; instanceIds: string[] }[];
  /** Instances whose plugin refused a version (they kept the one they ran). */
  refused: { instanceId: string; rejected: number; kept: number }[];
  /** Instances that run the current version. */
  current: number;
  /** Instances that have not applied the current version and have not refused it: it is on its way. */
  waiting: number;
}

/** Which instances run which configuration version, and which refused one. */
export function summarizeApplied(applied: readonly AppliedVersion[], currentVersion: number): AppliedSummary {
  const byVersion = new Map<number, string[]>();
  const refused: AppliedSummary['refused'] = [];
  let waiting = 0;
  for (const { instanceId, version, rejected } of applied) {
    byVersion.set(version, [...(byVersion.get(version) ?? []), instanceId]);
    if (rejected !== null) refused.push({ instanceId, rejected, kept: version });
    if (version !== currentVersion && rejected !== currentVersion) waiting++;
  }
  const groups = [...byVersion]
    .map(([version, instanceIds]) => ({ version, instanceIds: instanceIds.sort() }))
    .sort((a, b) => b.version - a.version);
  return { groups, refused, current: byVersion.get(currentVersion)?.length ?? 0, waiting };
}
