/**
 * Lookup tables derived from the schema (roles, derivations, condition sets, set rules).
 * The schema is small and changes rarely, so the tables are rebuilt whole after a change and
 * shared by every decision until the next one; facts are never copied here.
 */
import { compileConditions, type Cond } from "./conditions";
import type { ConditionSetDef } from "./model";
import type { Store } from "./store";

/** A derivation seen from the object type: users with `fromRole` on a `fromType` subject linked by `relation` get `role`. */
export interface IncomingDerivation {
  role: string;
  fromType: string;
  fromRole: string;
  relation: string;
  noDirect: boolean;
}

export interface CompiledSet {
  def: ConditionSetDef;
  cond: Cond;
}

export interface RulePair {
  userSet: string;
  resourceSet: string;
}

export class SchemaIndex {
  /** tenant role → resource type → actions. */
  readonly tenantGrants = new Map<string, Map<string, Set<string>>>();
  /** resource type → resource role → actions. */
  readonly resourceGrants = new Map<string, Map<string, Set<string>>>();
  /** object type → relation → derivations through that relation. */
  readonly incoming = new Map<string, Map<string, IncomingDerivation[]>>();
  /** Relations that carry at least one derivation, per object type (for the forward walk). */
  readonly derivingRelations = new Map<string, Set<string>>();
  readonly sets = new Map<string, CompiledSet>();
  /** resource type → action → (user set, resource set) pairs granting it. */
  readonly rules = new Map<string, Map<string, RulePair[]>>();
  readonly hasRules: boolean;

  constructor(store: Store) {
    for (const role of store.roles.values()) {
      const byType = new Map<string, Set<string>>();
      for (const p of role.permissions) {
        const at = p.indexOf(":");
        const type = p.slice(0, at);
        const action = p.slice(at + 1);
        let actions = byType.get(type);
        if (!actions) byType.set(type, (actions = new Set<string>()));
        actions.add(action);
      }
      this.tenantGrants.set(role.key, byType);
    }
    for (const resource of store.resources.values()) {
      const grants = new Map<string, Set<string>>();
      const byRelation = new Map<string, IncomingDerivation[]>();
      for (const role of Object.values(resource.roles)) {
        grants.set(role.key, new Set(role.permissions));
        for (const d of role.derivations) {
          const list = byRelation.get(d.linked_by_relation) ?? [];
          list.push({
            role: role.key,
            fromType: d.on_resource,
            fromRole: d.role,
            relation: d.linked_by_relation,
            noDirect: d.no_direct_roles_on_object || role.no_direct_roles_on_object,
          });
          byRelation.set(d.linked_by_relation, list);
        }
      }
      this.resourceGrants.set(resource.key, grants);
      if (byRelation.size > 0) {
        this.incoming.set(resource.key, byRelation);
        this.derivingRelations.set(resource.key, new Set(byRelation.keys()));
      }
    }
    for (const def of store.conditionSets.values()) {
      this.sets.set(def.key, { def, cond: compileConditions(def.conditions) });
    }
    for (const rule of store.setRules.values()) {
      const at = rule.permission.indexOf(":");
      const type = rule.permission.slice(0, at);
      const action = rule.permission.slice(at + 1);
      let byAction = this.rules.get(type);
      if (!byAction) this.rules.set(type, (byAction = new Map<string, RulePair[]>()));
      const list = byAction.get(action) ?? [];
      list.push({ userSet: rule.user_set, resourceSet: rule.resource_set });
      byAction.set(action, list);
    }
    this.hasRules = store.setRules.size > 0;
  }
}

/** Keeps one SchemaIndex per schema version. */
export class SchemaCache {
  private version = -1;
  private index: SchemaIndex | undefined;

  constructor(private readonly store: Store) {}

  get(): SchemaIndex {
    if (!this.index || this.version !== this.store.schemaVersion) {
      this.index = new SchemaIndex(this.store);
      this.version = this.store.schemaVersion;
    }
    return this.index;
  }
}
