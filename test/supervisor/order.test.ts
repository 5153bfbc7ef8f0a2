import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dependencyClosure, dependentsOf, findCycle, startWaves, stopWaves, subgraph } from '../../lib/supervisor/order.ts';

const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges));

/** Every graph over `names` (each node may depend on any subset of the others): 4 nodes = 4096 graphs. */
function* everyGraph(names: string[]): Generator<Map<string, string[]>> {
  const pairs = names.flatMap((from) => names.filter((to) => to !== from).map((to) => [from, to] as const));
  for (let mask = 0; mask < 2 ** pairs.length; mask++) {
    const result = new Map(names.map((name) => [name, [] as string[]]));
    pairs.forEach(([from, to], bit) => { if (mask & (1 << bit)) result.get(from)!.push(to); });
    yield result;
  }
}

function hasCycleByBruteForce(g: Map<string, string[]>): boolean {
  const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
    (g.get(from) ?? []).some((next) => next === to || (!seen.has(next) && (seen.add(next), reaches(next, to, seen))));
  return [...g.keys()].some((name) => reaches(name, name));
}

describe('start order (pure)', () => {
  test('a chain starts from its root and stops from its leaf', () => {
    const chain = graph({ c: ['b'], b: ['a'], a: [] });
    assert.deepEqual(startWaves(chain), [['a'], ['b'], ['c']]);
    assert.deepEqual(stopWaves(chain), [['c'], ['b'], ['a']]);
  });

  test('independent services share a wave (they start in parallel)', () => {
    assert.deepEqual(startWaves(graph({ web: ['db', 'redis'], worker: ['redis'], db: [], redis: [] })), [['db', 'redis'], ['web', 'worker']]);
  });

  test('cycles are named as a path that ends where it starts', () => {
    assert.deepEqual(findCycle(graph({ a: ['b'], b: ['a'] })), ['a', 'b', 'a']);
    assert.deepEqual(findCycle(graph({ a: ['a'] })), ['a', 'a']);
    assert.deepEqual(findCycle(graph({ x: ['a'], a: ['b'], b: ['c'], c: ['a'] })), ['a', 'b', 'c', 'a']);
    assert.equal(findCycle(graph({ a: ['b'], b: [] })), null);
    assert.throws(() => startWaves(graph({ a: ['b'], b: ['a'] })), /a -> b -> a/);
  });

  test('exhaustively, over every graph of 4 services: cycles found exactly, waves respect every edge, each service once', () => {
    let acyclic = 0;
    for (const g of everyGraph(['a', 'b', 'c', 'd'])) {
      const cycle = findCycle(g);
      assert.equal(cycle !== null, hasCycleByBruteForce(g), JSON.stringify([...g]));
      if (cycle) {
        assert.equal(cycle[0], cycle.at(-1));
        for (let i = 0; i + 1 < cycle.length; i++) assert.ok(g.get(cycle[i]!)!.includes(cycle[i + 1]!), `not an edge: ${cycle.join(' -> ')}`);
        continue;
      }
      acyclic++;
      const waves = startWaves(g);
      const waveOf = new Map(waves.flatMap((wave, index) => wave.map((name) => [name, index] as const)));
      assert.equal(waveOf.size, 4);
      assert.equal(waves.flat().length, 4);
      for (const [name, deps] of g) for (const dep of deps) assert.ok(waveOf.get(dep)! < waveOf.get(name)!, `${name} after ${dep}`);
      // each wave as early as possible: a service in wave n > 0 has a dependency in wave n - 1
      for (const [name, deps] of g) if (waveOf.get(name)! > 0) assert.ok(deps.some((dep) => waveOf.get(dep) === waveOf.get(name)! - 1));
    }
    assert.equal(acyclic, 543); // labelled DAGs on 4 nodes
  });

  test('closure, dependents and subgraphs', () => {
    const g = graph({ app: ['api'], api: ['db', 'cache'], db: [], cache: [], lone: [] });
    assert.deepEqual(dependencyClosure(g, ['app']).sort(), ['api', 'cache', 'db']);
    assert.deepEqual(dependencyClosure(g, ['lone']), []);
    assert.deepEqual(dependentsOf(g, 'db', ['app', 'api', 'db']), ['api']);
    assert.deepEqual(subgraph(g, ['app', 'db']), new Map([['app', []], ['db', []]]));
  });
});
