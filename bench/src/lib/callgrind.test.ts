import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { megamorphicCost, readCounts, readSelfCosts } from './callgrind.mjs';

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
    expect(readCounts(file)).toEqual({ total: 1000, gc: 300, scavenges: 2, events: { Ir: 1000 } });
  });

  it("reads every event's total when valgrind counted more than instructions (cache simulation, system calls)", () => {
    const file = join(mkdtempSync(join(tmpdir(), 'callgrind-test-')), 'callgrind.out.1-01');
    writeFileSync(file, DUMP.replace('events: Ir', 'events: Ir D1mr DLmr sysCount').replace('summary: 1000', 'summary: 1000 40 3 12'));
    expect(readCounts(file)).toMatchObject({ total: 1000, events: { Ir: 1000, D1mr: 40, DLmr: 3, sysCount: 12 } });
  });
});

describe('readSelfCosts', () => {
  it("sums each function's own cost lines, not the inclusive cost after a call; names JIT code from a perf map", () => {
    const file = join(mkdtempSync(join(tmpdir(), 'callgrind-test-')), 'callgrind.out.1-01');
    writeFileSync(
      file,
      DUMP +
        `
fn=(5) Builtins_LoadIC_Megamorphic
0 40
+2 2
fn=(6) Builtins_KeyedLoadIC_Megamorphic
0 8
fn=(7) 0x0000000000001010
0 9
fn=(3)
0 600
`,
    );
    const self = readSelfCosts(file);
    expect(Object.fromEntries(self)).toMatchObject({
      'node::SpinEventLoopInternal(node::Environment*)': 100,
      Builtins_LoadIC: 600,
      Builtins_LoadIC_Megamorphic: 42,
      '0x0000000000001010': 9,
    });
    expect(megamorphicCost(self)).toBe(50);
    const named = readSelfCosts(file, '1000 20 JS:*clearBuffer node:internal/streams/writable:744:21\n');
    expect(named.get('JIT JS:*clearBuffer node:internal/streams/writable:744:21')).toBe(9);
  });
});
