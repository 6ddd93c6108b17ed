import { describe, expect, it } from 'vitest';
import { issuesByField } from './field-issues';

describe('issues by field', () => {
  it('puts each issue beside the field it names, and the rest aside', () => {
    const byField = issuesByField(
      [
        'threshold: expected number, received null',
        'forBeats: must be at least 1',
        'name.0: too long',
        '(body): exactly one of forBeats and forMs',
        'weird',
      ],
      ['name', 'threshold', 'forBeats'],
    );
    expect(byField.get('threshold')).toEqual(['expected number, received null']);
    expect(byField.get('forBeats')).toEqual(['must be at least 1']);
    expect(byField.get('name')).toEqual(['too long']);
    expect(byField.get('')).toEqual(['(body): exactly one of forBeats and forMs', 'weird']);
  });
});
