import { describe, expect, it } from 'vitest';
import { diffValues } from './config-diff';

describe('diffValues', () => {
  it('lists every setting A-Z with what changed', () => {
    expect(diffValues({ b: 1, a: 'x', list: ['1', '2'], gone: true }, { b: 2, a: 'x', list: ['1', '2'], added: 'y' })).toEqual([
      { name: 'a', from: 'x', to: 'x', change: 'same' },
      { name: 'added', from: undefined, to: 'y', change: 'added' },
      { name: 'b', from: 1, to: 2, change: 'changed' },
      { name: 'gone', from: true, to: undefined, change: 'removed' },
      { name: 'list', from: ['1', '2'], to: ['1', '2'], change: 'same' },
    ]);
  });

  it('tells the text "1" from the number 1', () => {
    expect(diffValues({ n: '1' }, { n: 1 })[0]?.change).toBe('changed');
  });
});
