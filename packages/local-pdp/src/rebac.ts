/**
 * Relationship roles (protocol §6.4): a user's roles on an instance are the least fixpoint of
 * (a) direct instance role assignments and (b) derivations: role R on type T is granted when a
 * tuple (subject J, relation rel, object I) exists, R is derived from R' on J's type through
 * rel, and the user has R' on J (directly or derived). `no_direct_roles_on_object` skips a
 * derivation when the user has any direct role on the object.
 *
 * Cost: only the object's ancestry along deriving relations is visited, found through the
 * object → relation → subjects index, so it does not grow with the number of tuples elsewhere.
 */
import { instanceType } from "./model";
import type { SchemaIndex, IncomingDerivation } from "./schema-index";
import type { Store } from "./store";

const EMPTY: ReadonlySet<string> = new Set<string>();

interface Edge {
  to: string;
  derivation: IncomingDerivation;
}

/** Per-request memo: graph roles already computed, by user then instance. */
export type GraphMemo = Map<string, Map<string, ReadonlySet<string>>>;

export function graphRoles(store: Store, schema: SchemaIndex, user: string, target: string, memo: GraphMemo): ReadonlySet<string> {
  const direct = store.instanceRoles.get(user);
  // No instance role anywhere: nothing can be derived either.
  if (!direct) return EMPTY;
  let byInstance = memo.get(user);
  const cached = byInstance?.get(target);
  if (cached) return cached;

  // 1. The target's ancestry along relations that carry derivations (backwards).
  const forward = new Map<string, Edge[]>();
  const visited = new Set<string>([target]);
  const stack = [target];
  while (stack.length > 0) {
    const node = stack.pop() as string;
    const byRelation = schema.incoming.get(instanceType(node));
    if (!byRelation) continue;
    for (const [relation, derivations] of byRelation) {
      const subjects = store.tuplesByObject.values(node, relation);
      if (!subjects) continue;
      for (const subject of subjects) {
        const subjectType = instanceType(subject);
        for (const derivation of derivations) {
          if (derivation.fromType !== subjectType) continue;
          const edges = forward.get(subject) ?? [];
          edges.push({ to: node, derivation });
          forward.set(subject, edges);
        }
        if (!visited.has(subject)) {
          visited.add(subject);
          stack.push(subject);
        }
      }
    }
  }

  // 2. Propagate roles forwards from the direct assignments until nothing changes.
  const roles = new Map<string, Set<string>>();
  const work: string[] = [];
  for (const node of visited) {
    const own = direct.get(node);
    roles.set(node, new Set(own ?? []));
    if (own) work.push(node);
  }
  while (work.length > 0) {
    const node = work.pop() as string;
    const have = roles.get(node) as Set<string>;
    for (const { to, derivation } of forward.get(node) ?? []) {
      if (!have.has(derivation.fromRole)) continue;
      if (derivation.noDirect && direct.has(to)) continue;
      const target = roles.get(to) as Set<string>;
      if (target.has(derivation.role)) continue;
      target.add(derivation.role);
      work.push(to);
    }
  }

  // Every visited node's ancestry is inside this walk, so its result is exact: memoize all.
  if (!byInstance) memo.set(user, (byInstance = new Map<string, ReadonlySet<string>>()));
  for (const [node, set] of roles) byInstance.set(node, set);
  return roles.get(target) ?? EMPTY;
}

/**
 * Instances on which a user may hold a role: those with a direct assignment and everything
 * reachable from them forwards along deriving relations. A superset; `graphRoles` decides.
 */
export function candidateInstances(store: Store, schema: SchemaIndex, user: string): Set<string> {
  const direct = store.instanceRoles.get(user);
  const seen = new Set<string>();
  if (!direct) return seen;
  const stack = [...direct.keys()];
  for (const s of stack) seen.add(s);
  while (stack.length > 0) {
    const node = stack.pop() as string;
    const byRelation = store.tuplesBySubject.get(node);
    if (!byRelation) continue;
    for (const [relation, objects] of byRelation) {
      for (const object of objects) {
        if (seen.has(object) || !schema.derivingRelations.get(instanceType(object))?.has(relation)) continue;
        seen.add(object);
        stack.push(object);
      }
    }
  }
  return seen;
}
