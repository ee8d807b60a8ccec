import "reflect-metadata";
import { graphql, isObjectType, printSchema, type GraphQLSchema } from "graphql";
import { applyMiddleware } from "graphql-middleware";
import { makeExecutableSchema } from "@graphql-tools/schema";
import { createShield, ruleMap } from "../../src/authz/rule-map";
import { buildApiSchema } from "../../src/graphql/schema";

type RuleLike = { name?: string };
// Named rules by name; shield's `allow` (class RuleTrue) as "allow".
const describeRule = (rule: unknown): string =>
  (rule as RuleLike).name ?? ((rule as object).constructor.name === "RuleTrue" ? "allow" : "unknown");

let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await buildApiSchema();
});

describe("the shield rule map", () => {
  it("covers every Query, Mutation and Subscription field", () => {
    for (const root of ["Query", "Mutation", "Subscription"] as const) {
      const type = schema.getType(root);
      const fields = isObjectType(type) ? Object.keys(type.getFields()) : [];
      const covered = Object.keys(ruleMap[root]);
      expect(fields.length).toBeGreaterThan(0);
      expect(fields.filter((f) => !covered.includes(f))).toEqual([]);
      expect(covered.filter((f) => !fields.includes(f))).toEqual([]);
    }
  });

  it("covers every object type of the schema", () => {
    const objectTypes = Object.values(schema.getTypeMap())
      .filter((t) => isObjectType(t) && !t.name.startsWith("__") && !["Query", "Mutation", "Subscription"].includes(t.name))
      .map((t) => t.name)
      .sort();
    const covered = Object.keys(ruleMap).filter((k) => !["Query", "Mutation", "Subscription"].includes(k)).sort();
    expect(covered).toEqual(objectTypes);
  });

  it("matches the reviewed snapshot (a diff here is a permission change)", () => {
    const described = Object.fromEntries(
      Object.entries(ruleMap).map(([type, rules]) => [
        type,
        typeof rules === "object" && rules !== null && !("resolve" in rules)
          ? Object.fromEntries(Object.entries(rules).map(([field, rule]) => [field, describeRule(rule)]))
          : describeRule(rules),
      ]),
    );
    expect(described).toMatchSnapshot();
  });
});

describe("the shield as applied", () => {
  it("wraps the fields where a rule decides and leaves `allow` types unwrapped", async () => {
    const generated = createShield().generate(schema) as Record<string, unknown>;
    expect(Object.keys(generated)).toEqual(expect.arrayContaining(["Query", "Mutation"]));
    const allowTypes = Object.entries(ruleMap).filter(([, r]) => describeRule(r) === "allow").map(([t]) => t);
    expect(allowTypes.length).toBeGreaterThan(5);
    for (const type of allowTypes) expect(generated).not.toHaveProperty(type);
  });

  it("still denies a field or type the rule map does not know (deny by default)", async () => {
    // The API's schema plus a root field and a type that nobody gave a rule.
    const extended = makeExecutableSchema({
      typeDefs: [printSchema(schema), `extend type Query { secret: Secret } type Secret { value: String }`],
      resolvers: { Query: { secret: () => ({ value: "s" }) } },
    });
    const shielded = applyMiddleware(extended, createShield());
    const denied = await graphql({ schema: shielded, source: "{ secret { value } }", contextValue: {} });
    expect(denied.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(denied.data?.secret ?? null).toBeNull();
  });
});
