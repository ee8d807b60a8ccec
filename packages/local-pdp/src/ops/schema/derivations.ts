/**
 * Role derivations (`granted_to.users_with_role`, Permit's implicit grants): a role on an
 * instance derived from a role on a related instance. Derivations from tenant roles are refused.
 */
import { badRequest, invalid, notFound } from "../../errors";
import { TENANT_PSEUDO_RESOURCE, type Derivation, type ResourceRoleDef } from "../../model";
import type { Store } from "../../store";
import type { DerivationInput, GrantedToInput, WhenInput } from "../inputs";
import { getResource, getResourceRole } from "./lookup";

function checkDerivation(store: Store, resource: string, rule: DerivationInput): Derivation {
  if (rule.on_resource === TENANT_PSEUDO_RESOURCE) {
    throw invalid(["body", "on_resource"], "derivations from tenant roles ('__tenant') are not supported by the local PDP");
  }
  const source = getResource(store, rule.on_resource);
  if (!source.roles[rule.role]) throw notFound(`role '${rule.role}' on resource '${rule.on_resource}'`);
  const relation = getResource(store, resource).relations[rule.linked_by_relation];
  if (!relation) throw notFound(`relation '${rule.linked_by_relation}' on resource '${resource}'`);
  if (relation.subject_resource !== rule.on_resource) {
    throw badRequest(
      `relation '${rule.linked_by_relation}' on '${resource}' links '${relation.subject_resource}', not '${rule.on_resource}'`,
      "MISMATCH_RELATION_TYPE",
    );
  }
  return {
    role: rule.role,
    on_resource: rule.on_resource,
    linked_by_relation: rule.linked_by_relation,
    no_direct_roles_on_object: rule.when?.no_direct_roles_on_object === true,
  };
}

function sameDerivation(a: Derivation | DerivationInput, b: Derivation | DerivationInput): boolean {
  return a.role === b.role && a.on_resource === b.on_resource && a.linked_by_relation === b.linked_by_relation;
}

export function derivationsFrom(store: Store, resource: string, grantedTo: GrantedToInput): Derivation[] {
  const out: Derivation[] = [];
  for (const rule of grantedTo.users_with_role ?? []) {
    const derivation = checkDerivation(store, resource, rule);
    if (!out.some((d) => sameDerivation(d, derivation))) out.push(derivation);
  }
  return out;
}

export interface DerivationRead {
  role_id: string;
  resource_id: string;
  relation_id: string;
  role: string;
  on_resource: string;
  linked_by_relation: string;
}

function derivationRead(store: Store, resource: string, d: Derivation): DerivationRead {
  const source = getResource(store, d.on_resource);
  return {
    role_id: source.roles[d.role]?.id ?? "",
    resource_id: source.id,
    relation_id: getResource(store, resource).relations[d.linked_by_relation]?.id ?? "",
    role: d.role,
    on_resource: d.on_resource,
    linked_by_relation: d.linked_by_relation,
  };
}

export function derivationReads(store: Store, resource: string, role: ResourceRoleDef): DerivationRead[] {
  return role.derivations.map((d) => derivationRead(store, resource, d));
}

/** Idempotent: deriving the same rule twice keeps one rule. */
export function createDerivation(store: Store, at: string, resource: string, roleKey: string, rule: DerivationInput): DerivationRead {
  const role = getResourceRole(store, resource, roleKey);
  const derivation = checkDerivation(store, resource, rule);
  const existing = role.derivations.find((d) => sameDerivation(d, derivation));
  if (existing && existing.no_direct_roles_on_object === derivation.no_direct_roles_on_object) {
    return derivationRead(store, resource, existing);
  }
  const derivations = [...role.derivations.filter((d) => !sameDerivation(d, derivation)), derivation];
  const def = getResource(store, resource);
  store.putResource({ ...def, roles: { ...def.roles, [roleKey]: { ...role, derivations, updated_at: at } } });
  return derivationRead(store, resource, derivation);
}

export function deleteDerivation(store: Store, at: string, resource: string, roleKey: string, rule: DerivationInput): void {
  const role = getResourceRole(store, resource, roleKey);
  if (!role.derivations.some((d) => sameDerivation(d, rule))) {
    throw notFound(`derivation of '${resource}#${roleKey}' from '${rule.on_resource}#${rule.role}' via '${rule.linked_by_relation}'`);
  }
  const def = getResource(store, resource);
  const derivations = role.derivations.filter((d) => !sameDerivation(d, rule));
  store.putResource({ ...def, roles: { ...def.roles, [roleKey]: { ...role, derivations, updated_at: at } } });
}

export function setDerivationConditions(store: Store, at: string, resource: string, roleKey: string, when: WhenInput): WhenInput {
  const role = getResourceRole(store, resource, roleKey);
  const value = when.no_direct_roles_on_object === true;
  if (role.no_direct_roles_on_object !== value) {
    const def = getResource(store, resource);
    store.putResource({ ...def, roles: { ...def.roles, [roleKey]: { ...role, no_direct_roles_on_object: value, updated_at: at } } });
  }
  return { no_direct_roles_on_object: value };
}
