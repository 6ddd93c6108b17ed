import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCounts } from './callgrind.mjs';

// A trimmed callgrind dump in the shape valgrind 3.19 writes: names compressed to ids after their
// first use, and each call followed by a line with its inclusive cost.
const DUMP = `# callgrind format
version: 1
positions: line
events: Ir
summary: 1000

fn=(1) node::SpinEventLoopInternal(node::Environment*)
0 100
cfn=(2) v8::internal::Heap::CollectGarbage(v8::internal::AllocationSpace, v8::internal::GarbageCollectionReason, v8::GCCallbackFlags)
calls=2 0
0 300
cfn=(3) Builtins_LoadIC
calls=50 0
0 600

fn=(2)
0 20
cfn=(4) v8::internal::ScavengerCollector::CollectGarbage()
calls=2 0
0 250
cfn=(2)
calls=1 0
0 30
`;

describe('readCounts', () => {
  it('reads the total, the inclusive GC cost of calls from outside the GC, and the scavenges', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'callgrind-test-')), 'callgrind.out.1-01');
    writeFileSync(file, DUMP);
    expect(readCounts(file)).toEqual({ total: 1000, gc: 300, scavenges: 2 });
  });
});
