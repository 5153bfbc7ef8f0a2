/** Start and stop order from the services' `after` lists: pure functions of the dependency graph. */

/** name -> the names it starts after. Names missing from the map have no dependencies. */
export type DependencyGraph = ReadonlyMap<string, readonly string[]>;

/** The first cycle found, as a path that ends where it starts (`a -> b -> a`); null when there is none. */
export function findCycle(graph: DependencyGraph): string[] | null {
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (name: string): string[] | null => {
    if (onPath.has(name)) return [...path.slice(path.indexOf(name)), name];
    if (done.has(name)) return null;
    onPath.add(name);
    path.push(name);
    for (const next of graph.get(name) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    onPath.delete(name);
    done.add(name);
    return null;
  };
  for (const name of [...graph.keys()].sort()) {
    const cycle = visit(name);
    if (cycle) return cycle;
  }
  return null;
}

/**
 * Start waves: every service of a wave depends only on services of earlier waves, so a wave's services may start in
 * parallel. Throws on a cycle (the config refuses those first). Names within a wave keep the graph's order.
 */
export function startWaves(graph: DependencyGraph): string[][] {
  const cycle = findCycle(graph);
  if (cycle) throw new Error(`dependency cycle: ${cycle.join(' -> ')}`);
  const depth = new Map<string, number>();
  const depthOf = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    const deps = graph.get(name) ?? [];
    const value = deps.length === 0 ? 0 : 1 + Math.max(...deps.map(depthOf));
    depth.set(name, value);
    return value;
  };
  const waves: string[][] = [];
  for (const name of graph.keys()) (waves[depthOf(name)] ??= []).push(name);
  return waves.filter((wave) => wave !== undefined);
}

/** The stop waves: the start waves reversed, so a service stops only after everything that depends on it. */
export function stopWaves(graph: DependencyGraph): string[][] {
  return startWaves(graph).reverse();
}

/** Everything `names` depends on, directly or not, the names themselves excluded unless another needs them. */
export function dependencyClosure(graph: DependencyGraph, names: readonly string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    for (const next of graph.get(name) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      visit(next);
    }
  };
  names.forEach(visit);
  return [...seen];
}

/** The services of `among` that start after `name`: they must stop before it does. */
export function dependentsOf(graph: DependencyGraph, name: string, among: readonly string[]): string[] {
  return among.filter((other) => other !== name && (graph.get(other) ?? []).includes(name));
}

/** The graph restricted to `names`: edges to services outside it are dropped (they are not part of this start or stop). */
export function subgraph(graph: DependencyGraph, names: readonly string[]): Map<string, string[]> {
  const keep = new Set(names);
  return new Map(names.map((name) => [name, (graph.get(name) ?? []).filter((dep) => keep.has(dep))]));
}
