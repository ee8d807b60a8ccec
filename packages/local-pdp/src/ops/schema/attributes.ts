/** Attributes of a resource (typed). */
import { duplicate, invalid, notFound } from "../../errors";
import { ATTRIBUTE_TYPES, type AttributeDef, type AttributeType } from "../../model";
import type { Store } from "../../store";
import type { AttributeInput } from "../inputs";
import { getResource, withoutKey } from "./lookup";

export function buildAttributes(store: Store, input: Record<string, AttributeInput>): Record<string, AttributeDef> {
  const attributes: Record<string, AttributeDef> = {};
  for (const [key, a] of Object.entries(input)) {
    if (!ATTRIBUTE_TYPES.includes(a.type as AttributeType)) {
      throw invalid(["body", "attributes", key, "type"], `must be one of ${ATTRIBUTE_TYPES.join(", ")}`);
    }
    attributes[key] = { id: store.nextId(), key, type: a.type as AttributeType, description: a.description };
  }
  return attributes;
}

export function createResourceAttribute(store: Store, at: string, resource: string, key: string, input: AttributeInput): AttributeDef {
  const def = getResource(store, resource);
  if (def.attributes[key]) throw duplicate(`attribute '${key}' on resource '${resource}'`);
  const attribute = buildAttributes(store, { [key]: input })[key];
  store.putResource({ ...def, attributes: { ...def.attributes, [key]: attribute }, updated_at: at });
  return attribute;
}

export function deleteResourceAttribute(store: Store, at: string, resource: string, key: string): void {
  const def = getResource(store, resource);
  if (!def.attributes[key]) throw notFound(`attribute '${key}' on resource '${resource}'`);
  store.putResource({ ...def, attributes: withoutKey(def.attributes, key), updated_at: at });
}
