/**
 * Every write is an operation: a plain, JSON-serialisable record of the validated request plus
 * its timestamp. The same `applyOp` (apply.ts) runs live and when the journal is replayed after
 * a restart, so a replay rebuilds exactly the state that was acknowledged.
 */
import type { JsonObject } from "../model";
import type {
  ActionInput,
  AssignmentInput,
  AttributeInput,
  ConditionSetInput,
  DerivationInput,
  ResourceBody,
  ResourceRoleInput,
  RoleInput,
  SetRuleInput,
  TupleInput,
  UserInput,
  WhenInput,
} from "./inputs";

export type Op = { at: string } & (
  | { t: "resource.create"; key: string; body: ResourceBody }
  | { t: "resource.replace"; key: string; body: ResourceBody }
  | { t: "resource.update"; key: string; body: ResourceBody }
  | { t: "resource.delete"; key: string }
  | { t: "action.create"; resource: string; key: string; action: ActionInput }
  | { t: "action.delete"; resource: string; key: string }
  | { t: "attribute.create"; resource: string; key: string; attribute: AttributeInput }
  | { t: "attribute.delete"; resource: string; key: string }
  | { t: "role.create"; role: RoleInput }
  | { t: "role.update"; key: string; patch: Omit<RoleInput, "key"> }
  | { t: "role.delete"; key: string }
  | { t: "role.permissions.add"; key: string; permissions: string[] }
  | { t: "role.permissions.remove"; key: string; permissions: string[] }
  | { t: "rrole.create"; resource: string; role: ResourceRoleInput }
  | { t: "rrole.update"; resource: string; key: string; patch: Omit<ResourceRoleInput, "key"> }
  | { t: "rrole.delete"; resource: string; key: string }
  | { t: "rrole.permissions.add"; resource: string; key: string; permissions: string[] }
  | { t: "rrole.permissions.remove"; resource: string; key: string; permissions: string[] }
  | { t: "derivation.create"; resource: string; role: string; rule: DerivationInput }
  | { t: "derivation.delete"; resource: string; role: string; rule: DerivationInput }
  | { t: "derivation.conditions"; resource: string; role: string; when: WhenInput }
  | { t: "relation.create"; resource: string; key: string; name?: string; description?: string; subject_resource: string }
  | { t: "relation.delete"; resource: string; key: string }
  | { t: "cset.create"; set: ConditionSetInput }
  | { t: "cset.update"; key: string; name?: string; description?: string; conditions?: JsonObject; parent_id?: string | null }
  | { t: "cset.delete"; key: string }
  | { t: "setrule.create"; rule: SetRuleInput }
  | { t: "setrule.delete"; rule: SetRuleInput }
  | { t: "user.create"; user: UserInput }
  | { t: "user.replace"; user: UserInput }
  | { t: "user.update"; key: string; email?: string; first_name?: string; last_name?: string; attributes?: JsonObject }
  | { t: "user.delete"; key: string }
  | { t: "tenant.create"; key: string; name?: string; description?: string; attributes?: JsonObject }
  | { t: "tenant.update"; key: string; name?: string; description?: string; attributes?: JsonObject }
  | { t: "tenant.delete"; key: string }
  | { t: "tenant.user.delete"; tenant: string; user: string }
  | { t: "instance.create"; key: string; resource: string; tenant?: string; attributes?: JsonObject }
  | { t: "instance.update"; id: string; attributes?: JsonObject }
  | { t: "instance.delete"; id: string }
  | { t: "assignment.create"; assignment: AssignmentInput }
  | { t: "assignment.delete"; assignment: AssignmentInput }
  | { t: "assignment.bulkCreate"; assignments: AssignmentInput[] }
  | { t: "assignment.bulkDelete"; assignments: AssignmentInput[] }
  | { t: "tuple.create"; tuple: TupleInput }
  | { t: "tuple.delete"; tuple: TupleInput }
  | { t: "tuple.bulkCreate"; tuples: TupleInput[] }
  | { t: "tuple.bulkDelete"; tuples: TupleInput[] }
);

/** Distributes `Omit` over the union so callers can build an op without its timestamp. */
export type OpBody = Op extends infer O ? (O extends { at: string } ? Omit<O, "at"> : never) : never;
