/**
 * Permit's condition language (docs "ABAC operators"): compiled once when a condition set is
 * written, so a malformed or unsupported condition is a 422 at write time and never a
 * surprise at check time; evaluated against the attribute bag of one check.
 *
 * Semantics (see README "Decisions on unconfirmed points"):
 * - a leaf whose attribute (or `ref`) is missing is false, `not-equals` included;
 * - `not` negates the boolean value of its operand, so `not` over a missing attribute is true,
 *   which is what Rego's `not` over an undefined rule gives;
 * - type mismatches are false; numeric comparisons need two numbers;
 * - `between: [lo, hi]` excludes both bounds; `all_match` over an empty array is false.
 */
import { invalid } from "./errors";
import { isJsonObject, type Json, type JsonObject } from "./model";
import { deepEqual, type Loc } from "./validate";

export type Entity = "user" | "resource" | "tenant" | "context";
const ENTITIES: readonly string[] = ["user", "resource", "tenant", "context"];

export interface Bag {
  user: JsonObject;
  resource: JsonObject;
  tenant: JsonObject;
  context: JsonObject;
}

type Operand = { kind: "lit"; value: Json } | { kind: "ref"; entity: Entity; path: string[] };

type ValueOp =
  | "equals"
  | "not-equals"
  | "greater-than"
  | "less-than"
  | "greater-than-equals"
  | "less-than-equals"
  | "contains"
  | "in"
  | "between"
  | "array_contains"
  | "array_subset"
  | "array_superset"
  | "array_intersect";
type MatchOp = "object_match" | "any_match" | "all_match";

type Test =
  | { kind: "all"; items: Test[] }
  | { kind: "any"; items: Test[] }
  | { kind: "not"; item: Test }
  | { kind: "op"; op: ValueOp; operand: Operand }
  | { kind: "match"; op: MatchOp; match: Cond; fk?: string };

export type Cond =
  | { kind: "all"; items: Cond[] }
  | { kind: "any"; items: Cond[] }
  | { kind: "not"; item: Cond }
  /** `entity` is undefined inside a `match` block, where paths are relative to the matched object. */
  | { kind: "attr"; entity?: Entity; path: string[]; test: Test };

const OPERAND_RULES: Record<ValueOp, "any" | "number" | "string" | "array" | "range"> = {
  equals: "any",
  "not-equals": "any",
  "greater-than": "number",
  "less-than": "number",
  "greater-than-equals": "number",
  "less-than-equals": "number",
  contains: "string",
  in: "array",
  between: "range",
  array_contains: "any",
  array_subset: "array",
  array_superset: "array",
  array_intersect: "array",
};
const MATCH_OPS: readonly string[] = ["object_match", "any_match", "all_match"];
const LOGICAL_ALL = ["allOf", "and"];
const LOGICAL_ANY = ["anyOf", "or"];

// ---------------------------------------------------------------- compile

/** Compiles a condition tree; throws a 422 naming the first problem. */
export function compileConditions(raw: unknown, loc: Loc = ["body", "conditions"]): Cond {
  return compileNode(raw, loc, false);
}

function fail(loc: Loc, msg: string): never {
  throw invalid(loc, msg);
}

function compileNode(raw: unknown, loc: Loc, inMatch: boolean): Cond {
  if (!isJsonObject(raw)) fail(loc, "a condition must be a JSON object");
  const items: Cond[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const at = [...loc, key];
    if (LOGICAL_ALL.includes(key)) items.push({ kind: "all", items: compileList(value, at, inMatch) });
    else if (LOGICAL_ANY.includes(key)) items.push({ kind: "any", items: compileList(value, at, inMatch) });
    else if (key === "not") {
      // `not: [a, b]` negates the conjunction of its items.
      const inner: Cond = Array.isArray(value) ? { kind: "all", items: compileList(value, at, inMatch) } : compileNode(value, at, inMatch);
      items.push({ kind: "not", item: inner });
    } else items.push(compileAttribute(key, value, at, inMatch));
  }
  return items.length === 1 ? items[0] : { kind: "all", items };
}

function compileList(value: unknown, loc: Loc, inMatch: boolean): Cond[] {
  if (!Array.isArray(value)) fail(loc, "must be an array of conditions");
  return value.map((item: unknown, i: number): Cond => compileNode(item, [...loc, i], inMatch));
}

function parsePath(key: string, loc: Loc, inMatch: boolean): { entity?: Entity; path: string[] } {
  const parts = key.split(".");
  if (parts.some((p) => p.length === 0)) fail(loc, `invalid attribute path "${key}"`);
  if (inMatch) return { path: parts };
  const [entity, ...path] = parts;
  if (!ENTITIES.includes(entity)) {
    fail(loc, `unsupported attribute "${key}": attributes start with user., resource., tenant. or context.`);
  }
  if (path.length === 0) fail(loc, `"${key}" names no attribute`);
  return { entity: entity as Entity, path };
}

function compileAttribute(key: string, value: unknown, loc: Loc, inMatch: boolean): Cond {
  const { entity, path } = parsePath(key, loc, inMatch);
  return { kind: "attr", entity, path, test: compileTest(value, loc) };
}

function compileTest(raw: unknown, loc: Loc): Test {
  if (!isJsonObject(raw)) fail(loc, "an attribute condition must be an object of operators");
  const items: Test[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const at = [...loc, key];
    if (LOGICAL_ALL.includes(key) || LOGICAL_ANY.includes(key)) {
      if (!Array.isArray(value)) fail(at, "must be an array");
      const list = value.map((v: unknown, i: number): Test => compileTest(v, [...at, i]));
      items.push({ kind: LOGICAL_ALL.includes(key) ? "all" : "any", items: list });
    } else if (key === "not") {
      const inner: Test = Array.isArray(value)
        ? { kind: "all", items: value.map((v: unknown, i: number): Test => compileTest(v, [...at, i])) }
        : compileTest(value, at);
      items.push({ kind: "not", item: inner });
    } else if (MATCH_OPS.includes(key)) {
      items.push(compileMatch(key as MatchOp, value, at));
    } else if (Object.prototype.hasOwnProperty.call(OPERAND_RULES, key)) {
      const op = key as ValueOp;
      items.push({ kind: "op", op, operand: compileOperand(op, value, at) });
    } else {
      fail(at, `unknown operator "${key}"`);
    }
  }
  if (items.length === 0) fail(loc, "an attribute condition needs at least one operator");
  return items.length === 1 ? items[0] : { kind: "all", items };
}

function compileMatch(op: MatchOp, raw: unknown, loc: Loc): Test {
  if (!isJsonObject(raw) || !isJsonObject(raw.match)) fail(loc, `${op} needs {"match": {...}}`);
  const fk = raw.fk_resource_type;
  if (fk !== undefined && fk !== null && typeof fk !== "string") fail([...loc, "fk_resource_type"], "must be a string");
  return { kind: "match", op, match: compileNode(raw.match, [...loc, "match"], true), fk: typeof fk === "string" ? fk : undefined };
}

function compileOperand(op: ValueOp, value: unknown, loc: Loc): Operand {
  if (isJsonObject(value) && Object.keys(value).length === 1 && typeof value.ref === "string") {
    const { entity, path } = parsePath(value.ref, [...loc, "ref"], false);
    return { kind: "ref", entity: entity as Entity, path };
  }
  const rule = OPERAND_RULES[op];
  const ok =
    rule === "any" ||
    (rule === "number" && typeof value === "number") ||
    (rule === "string" && typeof value === "string") ||
    (rule === "array" && Array.isArray(value)) ||
    (rule === "range" && Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "number"));
  if (!ok) {
    const expected = { any: "a value", number: "a number", string: "a string", array: "an array", range: "[low, high] numbers" }[rule];
    fail(loc, `${op} expects ${expected} or {"ref": "<entity>.<attribute>"}`);
  }
  return { kind: "lit", value: value as Json };
}

// ---------------------------------------------------------------- evaluate

export interface EvalEnv {
  bag: Bag;
  /** Stored attributes of an instance, for `fk_resource_type`; undefined when unknown. */
  instanceAttributes(type: string, key: string): JsonObject | undefined;
}

function lookup(root: Json | undefined, path: string[]): Json | undefined {
  let current: Json | undefined = root;
  for (const part of path) {
    if (!isJsonObject(current)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, part)) return undefined;
    current = current[part];
  }
  return current;
}

export function evaluate(cond: Cond, env: EvalEnv, scope?: JsonObject): boolean {
  switch (cond.kind) {
    case "all":
      return cond.items.every((c) => evaluate(c, env, scope));
    case "any":
      return cond.items.some((c) => evaluate(c, env, scope));
    case "not":
      return !evaluate(cond.item, env, scope);
    case "attr": {
      const root: Json | undefined = cond.entity === undefined ? scope : env.bag[cond.entity];
      return runTest(cond.test, lookup(root, cond.path), env);
    }
  }
}

function runTest(test: Test, value: Json | undefined, env: EvalEnv): boolean {
  switch (test.kind) {
    case "all":
      return test.items.every((t) => runTest(t, value, env));
    case "any":
      return test.items.some((t) => runTest(t, value, env));
    case "not":
      return !runTest(test.item, value, env);
    case "op": {
      if (value === undefined) return false;
      const operand = test.operand.kind === "lit" ? test.operand.value : lookup(env.bag[test.operand.entity], test.operand.path);
      if (operand === undefined) return false;
      return applyOp(test.op, value, operand);
    }
    case "match":
      return value !== undefined && applyMatch(test, value, env);
  }
}

function applyOp(op: ValueOp, a: Json, v: Json): boolean {
  switch (op) {
    case "equals":
      return deepEqual(a, v);
    case "not-equals":
      return !deepEqual(a, v);
    case "greater-than":
      return typeof a === "number" && typeof v === "number" && a > v;
    case "less-than":
      return typeof a === "number" && typeof v === "number" && a < v;
    case "greater-than-equals":
      return typeof a === "number" && typeof v === "number" && a >= v;
    case "less-than-equals":
      return typeof a === "number" && typeof v === "number" && a <= v;
    case "contains":
      return typeof a === "string" && typeof v === "string" && a.includes(v);
    case "in":
      return Array.isArray(v) && v.some((item) => deepEqual(a, item));
    case "between":
      return (
        typeof a === "number" && Array.isArray(v) && typeof v[0] === "number" && typeof v[1] === "number" && a > v[0] && a < v[1]
      );
    case "array_contains":
      return Array.isArray(a) && a.some((item) => deepEqual(item, v));
    case "array_subset":
      return Array.isArray(a) && Array.isArray(v) && a.every((item) => v.some((w) => deepEqual(item, w)));
    case "array_superset":
      return Array.isArray(a) && Array.isArray(v) && v.every((w) => a.some((item) => deepEqual(item, w)));
    case "array_intersect":
      return Array.isArray(a) && Array.isArray(v) && a.some((item) => v.some((w) => deepEqual(item, w)));
  }
}

function applyMatch(test: Extract<Test, { kind: "match" }>, value: Json, env: EvalEnv): boolean {
  const resolve = (item: Json): JsonObject | undefined => {
    if (test.fk === undefined) return isJsonObject(item) ? item : undefined;
    if (typeof item !== "string" && typeof item !== "number") return undefined;
    return env.instanceAttributes(test.fk, String(item));
  };
  const matches = (item: Json): boolean => {
    const scope = resolve(item);
    return scope !== undefined && evaluate(test.match, env, scope);
  };
  if (test.op === "object_match") return matches(value);
  if (!Array.isArray(value)) return false;
  if (test.op === "any_match") return value.some(matches);
  return value.length > 0 && value.every(matches);
}
