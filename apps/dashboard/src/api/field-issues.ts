/**
 * The backend's 400 issues (`threshold: must be a number`, `forBeats: ...`) by the field they
 * name (the first part of the path), so a form can show each beside its field; issues that name
 * no field of the form go under `''`.
 */
export function issuesByField(issues: readonly string[], fields: readonly string[]): ReadonlyMap<string, string[]> {
  const byField = new Map<string, string[]>();
  for (const issue of issues) {
    const colon = issue.indexOf(': ');
    const path = colon === -1 ? '' : issue.slice(0, colon);
    const field = path.split('.')[0] ?? '';
    const known = fields.includes(field);
    const text = known ? issue.slice(colon + 2) : issue;
    const key = known ? field : '';
    byField.set(key, [...(byField.get(key) ?? []), text]);
  }
  return byField;
}
