import type { FieldNode, GraphQLResolveInfo, SelectionSetNode } from "graphql";

/** Field names selected directly in a selection set, looking through fragments. */
function fieldsOf(set: SelectionSetNode | undefined, info: GraphQLResolveInfo, out: FieldNode[] = []): FieldNode[] {
  for (const selection of set?.selections ?? []) {
    if (selection.kind === "Field") out.push(selection);
    else if (selection.kind === "InlineFragment") fieldsOf(selection.selectionSet, info, out);
    else fieldsOf(info.fragments[selection.name.value]?.selectionSet, info, out);
  }
  return out;
}

/**
 * The subfields the query selects below `path` (field names from the resolved field down),
 * e.g. `["edges", "node", "viewerCan"]` → `["get", "put"]`. Used to decide ahead of time,
 * in one batch, what the response will need.
 */
export function requestedSubfields(info: GraphQLResolveInfo, path: string[]): string[] {
  let level: FieldNode[] = [...info.fieldNodes];
  for (const name of path) {
    level = level.flatMap((node) => fieldsOf(node.selectionSet, info)).filter((f) => f.name.value === name);
  }
  return [...new Set(level.flatMap((node) => fieldsOf(node.selectionSet, info)).map((f) => f.name.value))].filter(
    (name) => !name.startsWith("__"),
  );
}
