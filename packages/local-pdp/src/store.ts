/**
 * The whole policy and fact state of the local PDP, in memory, with the indexes that keep a
 * decision independent of how many facts exist: a check looks up the user's roles, the
 * object's incoming tuples and the rules for one (type, action), never scans.
 *
 * Writes go through primitive mutators that each record their inverse in the open
 * transaction; an operation that fails half-way is rolled back (never a partial write).
 */
import {
  instanceId,
  instanceType,
  type AssignmentRec,
  type ConditionSetDef,
  type InstanceRec,
  type ResourceDef,
  type RoleDef,
  type SetRuleRec,
  type TenantRec,
  type TupleRec,
  type UserRec,
} from "./model";

const SEP = "\u0000";

/** A map of sets, dropping empty sets so memory follows the live facts. */
export class SetIndex<K, V> {
  private readonly map = new Map<K, Set<V>>();

  add(key: K, value: V): void {
    let set = this.map.get(key);
    if (!set) {
      set = new Set<V>();
      this.map.set(key, set);
    }
    set.add(value);
  }

  remove(key: K, value: V): void {
    const set = this.map.get(key);
    if (!set) return;
    set.delete(value);
    if (set.size === 0) this.map.delete(key);
  }

  get(key: K): ReadonlySet<V> | undefined {
    return this.map.get(key);
  }

  /** A copy, safe to iterate while the index changes. */
  list(key: K): V[] {
    const set = this.map.get(key);
    return set ? [...set] : [];
  }

  keys(): IterableIterator<K> {
    return this.map.keys();
  }

  clear(): void {
    this.map.clear();
  }
}

/** outer key → inner key → set of values (user → tenant → roles; object → relation → subjects). */
export class NestedIndex {
  private readonly map = new Map<string, Map<string, Set<string>>>();

  add(outer: string, inner: string, value: string): void {
    let byInner = this.map.get(outer);
    if (!byInner) {
      byInner = new Map<string, Set<string>>();
      this.map.set(outer, byInner);
    }
    let set = byInner.get(inner);
    if (!set) {
      set = new Set<string>();
      byInner.set(inner, set);
    }
    set.add(value);
  }

  remove(outer: string, inner: string, value: string): void {
    const byInner = this.map.get(outer);
    const set = byInner?.get(inner);
    if (!byInner || !set) return;
    set.delete(value);
    if (set.size === 0) byInner.delete(inner);
    if (byInner.size === 0) this.map.delete(outer);
  }

  get(outer: string): ReadonlyMap<string, ReadonlySet<string>> | undefined {
    return this.map.get(outer);
  }

  values(outer: string, inner: string): ReadonlySet<string> | undefined {
    return this.map.get(outer)?.get(inner);
  }

  clear(): void {
    this.map.clear();
  }
}

export function assignmentKey(a: { user: string; role: string; tenant: string; resource_instance?: string }): string {
  return [a.user, a.role, a.tenant, a.resource_instance ?? ""].join(SEP);
}

export function tupleKey(t: { subject: string; relation: string; object: string }): string {
  return [t.subject, t.relation, t.object].join(SEP);
}

export function setRuleKey(r: { user_set: string; permission: string; resource_set: string }): string {
  return [r.user_set, r.permission, r.resource_set].join(SEP);
}

/** The role a resource-role assignment refers to, as "<type>#<role>"; tenant roles are plain keys. */
export function roleRef(role: string, resourceInstance?: string): string {
  if (resourceInstance === undefined) return role;
  return resourceRoleRef(instanceType(resourceInstance), role);
}

export function resourceRoleRef(resourceType: string, role: string): string {
  return `${resourceType}#${role}`;
}

type Undo = () => void;

export class Store {
  readonly resources = new Map<string, ResourceDef>();
  readonly roles = new Map<string, RoleDef>();
  readonly conditionSets = new Map<string, ConditionSetDef>();
  readonly setRules = new Map<string, SetRuleRec>();

  readonly tenants = new Map<string, TenantRec>();
  readonly users = new Map<string, UserRec>();
  readonly instances = new Map<string, InstanceRec>();
  readonly assignments = new Map<string, AssignmentRec>();
  readonly tuples = new Map<string, TupleRec>();

  readonly instancesByTenant = new SetIndex<string, string>();
  readonly instancesByType = new SetIndex<string, string>();
  /** user → tenant → tenant-level roles. */
  readonly tenantRoles = new NestedIndex();
  /** user → "type:key" → roles assigned directly on that instance. */
  readonly instanceRoles = new NestedIndex();
  readonly assignmentsByUser = new SetIndex<string, string>();
  readonly assignmentsByInstance = new SetIndex<string, string>();
  /** Tenant-level assignments only (instance assignments follow their instance). */
  readonly assignmentsByTenant = new SetIndex<string, string>();
  readonly assignmentsByRole = new SetIndex<string, string>();
  /** object → relation → subjects (a check walks this backwards from the object). */
  readonly tuplesByObject = new NestedIndex();
  /** subject → relation → objects (user-permissions walks forwards). */
  readonly tuplesBySubject = new NestedIndex();

  /** Source of record ids; part of the state so a replayed log yields the same ids. */
  counter = 0;
  /** Bumped by every schema change; caches derived from the schema key on it. */
  schemaVersion = 0;

  private undo: Undo[] | undefined;

  // ------------------------------------------------------------ transactions

  /**
   * Grows with every transaction that touched anything (rolled back or not), so a list computed
   * at one value can be reused while it holds: the pages of one listing then cost one pass.
   */
  changes = 0;

  /**
   * Runs `fn` as one atomic operation. Returns its result and whether anything changed;
   * if `fn` throws, every mutation it made is undone before the error propagates.
   */
  transaction<T>(fn: () => T): { result: T; changed: boolean } {
    if (this.undo) throw new Error("nested store transaction");
    const undo: Undo[] = [];
    this.undo = undo;
    try {
      const result = fn();
      return { result, changed: undo.length > 0 };
    } catch (err) {
      for (let i = undo.length - 1; i >= 0; i--) undo[i]();
      throw err;
    } finally {
      this.undo = undefined;
      if (undo.length > 0) this.changes += 1;
    }
  }

  private record(fn: Undo): void {
    if (!this.undo) throw new Error("store mutation outside a transaction");
    this.undo.push(fn);
  }

  nextId(): string {
    const previous = this.counter;
    this.counter += 1;
    this.record(() => {
      this.counter = previous;
    });
    return this.counter.toString(16).padStart(32, "0");
  }

  private bumpSchema(): void {
    this.schemaVersion += 1;
    // Undo bumps again: a version is never reused, so no cache can go stale.
    this.record(() => {
      this.schemaVersion += 1;
    });
  }

  private putIn<V>(map: Map<string, V>, key: string, value: V): void {
    const previous = map.get(key);
    map.set(key, value);
    this.record(() => {
      if (previous === undefined) map.delete(key);
      else map.set(key, previous);
    });
  }

  private deleteIn<V>(map: Map<string, V>, key: string): void {
    const previous = map.get(key);
    if (previous === undefined) return;
    map.delete(key);
    this.record(() => {
      map.set(key, previous);
    });
  }

  // ------------------------------------------------------------ schema primitives

  putResource(def: ResourceDef): void {
    this.putIn(this.resources, def.key, def);
    this.bumpSchema();
  }

  deleteResourceRecord(key: string): void {
    this.deleteIn(this.resources, key);
    this.bumpSchema();
  }

  putRole(def: RoleDef): void {
    this.putIn(this.roles, def.key, def);
    this.bumpSchema();
  }

  deleteRoleRecord(key: string): void {
    this.deleteIn(this.roles, key);
    this.bumpSchema();
  }

  putConditionSet(def: ConditionSetDef): void {
    this.putIn(this.conditionSets, def.key, def);
    this.bumpSchema();
  }

  deleteConditionSetRecord(key: string): void {
    this.deleteIn(this.conditionSets, key);
    this.bumpSchema();
  }

  putSetRule(rule: SetRuleRec): void {
    this.putIn(this.setRules, setRuleKey(rule), rule);
    this.bumpSchema();
  }

  deleteSetRule(rule: SetRuleRec): void {
    this.deleteIn(this.setRules, setRuleKey(rule));
    this.bumpSchema();
  }

  // ------------------------------------------------------------ fact primitives

  putTenant(rec: TenantRec): void {
    this.putIn(this.tenants, rec.key, rec);
  }

  deleteTenantRecord(key: string): void {
    this.deleteIn(this.tenants, key);
  }

  putUser(rec: UserRec): void {
    this.putIn(this.users, rec.key, rec);
  }

  deleteUserRecord(key: string): void {
    this.deleteIn(this.users, key);
  }

  putInstance(rec: InstanceRec): void {
    const id = instanceId(rec.resource, rec.key);
    const previous = this.instances.get(id);
    if (previous && (previous.tenant !== rec.tenant || previous.resource !== rec.resource)) {
      throw new Error("an instance never changes tenant; delete it first");
    }
    this.putIn(this.instances, id, rec);
    if (!previous) this.indexInstance(id, rec, true);
  }

  deleteInstanceRecord(id: string): void {
    const previous = this.instances.get(id);
    if (!previous) return;
    this.deleteIn(this.instances, id);
    this.indexInstance(id, previous, false);
  }

  private indexInstance(id: string, rec: InstanceRec, add: boolean): void {
    const apply = (on: boolean): void => {
      if (on) {
        this.instancesByTenant.add(rec.tenant, id);
        this.instancesByType.add(rec.resource, id);
      } else {
        this.instancesByTenant.remove(rec.tenant, id);
        this.instancesByType.remove(rec.resource, id);
      }
    };
    apply(add);
    this.record(() => apply(!add));
  }

  addAssignment(rec: AssignmentRec): void {
    const key = assignmentKey(rec);
    if (this.assignments.has(key)) throw new Error("duplicate assignment");
    this.assignments.set(key, rec);
    this.indexAssignment(key, rec, true);
    this.record(() => {
      this.assignments.delete(key);
      this.indexAssignment(key, rec, false);
    });
  }

  removeAssignment(key: string): void {
    const rec = this.assignments.get(key);
    if (!rec) return;
    this.assignments.delete(key);
    this.indexAssignment(key, rec, false);
    this.record(() => {
      this.assignments.set(key, rec);
      this.indexAssignment(key, rec, true);
    });
  }

  private indexAssignment(key: string, rec: AssignmentRec, add: boolean): void {
    const ref = roleRef(rec.role, rec.resource_instance);
    if (add) {
      this.assignmentsByUser.add(rec.user, key);
      this.assignmentsByRole.add(ref, key);
      if (rec.resource_instance === undefined) {
        this.tenantRoles.add(rec.user, rec.tenant, rec.role);
        this.assignmentsByTenant.add(rec.tenant, key);
      } else {
        this.instanceRoles.add(rec.user, rec.resource_instance, rec.role);
        this.assignmentsByInstance.add(rec.resource_instance, key);
      }
    } else {
      this.assignmentsByUser.remove(rec.user, key);
      this.assignmentsByRole.remove(ref, key);
      if (rec.resource_instance === undefined) {
        this.tenantRoles.remove(rec.user, rec.tenant, rec.role);
        this.assignmentsByTenant.remove(rec.tenant, key);
      } else {
        this.instanceRoles.remove(rec.user, rec.resource_instance, rec.role);
        this.assignmentsByInstance.remove(rec.resource_instance, key);
      }
    }
  }

  addTuple(rec: TupleRec): void {
    const key = tupleKey(rec);
    if (this.tuples.has(key)) throw new Error("duplicate tuple");
    this.tuples.set(key, rec);
    this.indexTuple(rec, true);
    this.record(() => {
      this.tuples.delete(key);
      this.indexTuple(rec, false);
    });
  }

  removeTuple(key: string): void {
    const rec = this.tuples.get(key);
    if (!rec) return;
    this.tuples.delete(key);
    this.indexTuple(rec, false);
    this.record(() => {
      this.tuples.set(key, rec);
      this.indexTuple(rec, true);
    });
  }

  private indexTuple(rec: TupleRec, add: boolean): void {
    if (add) {
      this.tuplesByObject.add(rec.object, rec.relation, rec.subject);
      this.tuplesBySubject.add(rec.subject, rec.relation, rec.object);
    } else {
      this.tuplesByObject.remove(rec.object, rec.relation, rec.subject);
      this.tuplesBySubject.remove(rec.subject, rec.relation, rec.object);
    }
  }

  /** Every tuple touching an instance, as subject or object. */
  tupleKeysOf(instance: string): string[] {
    const keys: string[] = [];
    for (const [relation, subjects] of this.tuplesByObject.get(instance) ?? []) {
      for (const subject of subjects) keys.push(tupleKey({ subject, relation, object: instance }));
    }
    for (const [relation, objects] of this.tuplesBySubject.get(instance) ?? []) {
      for (const object of objects) keys.push(tupleKey({ subject: instance, relation, object }));
    }
    return keys;
  }

  // ------------------------------------------------------------ bulk load (snapshots)

  /** Loads records without transactions; used only on an empty store while opening state. */
  load(parts: {
    resources: ResourceDef[];
    roles: RoleDef[];
    conditionSets: ConditionSetDef[];
    setRules: SetRuleRec[];
    tenants: TenantRec[];
    users: UserRec[];
    instances: InstanceRec[];
    assignments: AssignmentRec[];
    tuples: TupleRec[];
    counter: number;
  }): void {
    for (const r of parts.resources) this.resources.set(r.key, r);
    for (const r of parts.roles) this.roles.set(r.key, r);
    for (const c of parts.conditionSets) this.conditionSets.set(c.key, c);
    for (const s of parts.setRules) this.setRules.set(setRuleKey(s), s);
    for (const t of parts.tenants) this.tenants.set(t.key, t);
    for (const u of parts.users) this.users.set(u.key, u);
    for (const i of parts.instances) {
      const id = instanceId(i.resource, i.key);
      this.instances.set(id, i);
      this.instancesByTenant.add(i.tenant, id);
      this.instancesByType.add(i.resource, id);
    }
    for (const a of parts.assignments) {
      const key = assignmentKey(a);
      this.assignments.set(key, a);
      this.indexAssignment(key, a, true);
    }
    for (const t of parts.tuples) {
      this.tuples.set(tupleKey(t), t);
      this.indexTuple(t, true);
    }
    this.counter = parts.counter;
    this.schemaVersion += 1;
  }

  /** A plain-JSON picture of the state (the snapshot body). */
  dump(): {
    resources: ResourceDef[];
    roles: RoleDef[];
    conditionSets: ConditionSetDef[];
    setRules: SetRuleRec[];
    tenants: TenantRec[];
    users: UserRec[];
    instances: InstanceRec[];
    assignments: AssignmentRec[];
    tuples: TupleRec[];
    counter: number;
  } {
    return {
      resources: [...this.resources.values()],
      roles: [...this.roles.values()],
      conditionSets: [...this.conditionSets.values()],
      setRules: [...this.setRules.values()],
      tenants: [...this.tenants.values()],
      users: [...this.users.values()],
      instances: [...this.instances.values()],
      assignments: [...this.assignments.values()],
      tuples: [...this.tuples.values()],
      counter: this.counter,
    };
  }

  /** Number of fact records, used to pace snapshot compaction. */
  size(): number {
    return this.users.size + this.tenants.size + this.instances.size + this.assignments.size + this.tuples.size;
  }
}
