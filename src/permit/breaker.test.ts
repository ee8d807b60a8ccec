import { PermitConnectionError } from "permitio";
import { createLogger } from "../common/logger";
import { PdpBreaker } from "./breaker";

const logger = createLogger("silent");
const down = () => Promise.reject(new PermitConnectionError("connect ECONNREFUSED 127.0.0.1:1"));
const up = () => Promise.resolve("ok");

function breaker() {
  let now = 0;
  const b = new PdpBreaker({ failureThreshold: 3, cooldownMs: 1000, logger, now: () => now });
  return { b, advance: (ms: number) => (now += ms) };
}

it("opens after N consecutive failures and then does not call", async () => {
  const { b } = breaker();
  for (let i = 0; i < 3; i++) await expect(b.run("bulk_check", down)).rejects.toBeDefined();
  expect(b.state).toBe("open");
  const call = jest.fn(up);
  await expect(b.run("bulk_check", call)).rejects.toMatchObject({ code: "AUTHZ_UNAVAILABLE" });
  expect(call).not.toHaveBeenCalled();
});

it("a success in between resets the count", async () => {
  const { b } = breaker();
  await expect(b.run("bulk_check", down)).rejects.toBeDefined();
  await expect(b.run("bulk_check", down)).rejects.toBeDefined();
  await b.run("bulk_check", up);
  await expect(b.run("bulk_check", down)).rejects.toBeDefined();
  await expect(b.run("bulk_check", down)).rejects.toBeDefined();
  expect(b.state).toBe("closed");
});

it("lets exactly one probe through after the cool-down; its success closes the circuit", async () => {
  const { b, advance } = breaker();
  for (let i = 0; i < 3; i++) await expect(b.run("bulk_check", down)).rejects.toBeDefined();
  advance(1000);
  expect(b.state).toBe("half_open");
  let release!: () => void;
  const probe = b.run("bulk_check", () => new Promise<string>((resolve) => (release = () => resolve("ok"))));
  const other = jest.fn(up);
  await expect(b.run("bulk_check", other)).rejects.toMatchObject({ code: "AUTHZ_UNAVAILABLE" });
  expect(other).not.toHaveBeenCalled();
  release();
  await expect(probe).resolves.toBe("ok");
  expect(b.state).toBe("closed");
});

it("a failed probe opens the circuit for another cool-down", async () => {
  const { b, advance } = breaker();
  for (let i = 0; i < 3; i++) await expect(b.run("bulk_check", down)).rejects.toBeDefined();
  advance(1000);
  await expect(b.run("bulk_check", down)).rejects.toBeDefined();
  expect(b.state).toBe("open");
  advance(999);
  expect(b.state).toBe("open");
  advance(1);
  expect(b.state).toBe("half_open");
});

it("calls that do not trip it are held back while it is not closed, and never open it", async () => {
  const { b } = breaker();
  for (let i = 0; i < 5; i++) await expect(b.run("policy_read", down, { trips: false })).rejects.toBeDefined();
  expect(b.state).toBe("closed");
  for (let i = 0; i < 3; i++) await expect(b.run("bulk_check", down)).rejects.toBeDefined();
  const read = jest.fn(up);
  await expect(b.run("policy_read", read, { trips: false })).rejects.toMatchObject({ code: "AUTHZ_UNAVAILABLE" });
  expect(read).not.toHaveBeenCalled();
});

it("a call that does not trip it may be let through while half-open, without taking the probe's place", async () => {
  const { b, advance } = breaker();
  for (let i = 0; i < 3; i++) await expect(b.run("bulk_check", down)).rejects.toBeDefined();
  const sync = jest.fn(up);
  await expect(b.run("user_sync", sync, { trips: false, whileHalfOpen: "admit" })).rejects.toMatchObject({ code: "AUTHZ_UNAVAILABLE" });
  expect(sync).not.toHaveBeenCalled();
  advance(1000);
  await expect(b.run("user_sync", sync, { trips: false, whileHalfOpen: "admit" })).resolves.toBe("ok");
  await expect(b.run("user_sync", down, { trips: false, whileHalfOpen: "admit" })).rejects.toBeDefined();
  expect(sync).toHaveBeenCalledTimes(1);
  // Neither its success nor its failure decided anything: the probe is still due.
  expect(b.state).toBe("half_open");
  const read = jest.fn(up);
  await expect(b.run("policy_read", read, { trips: false })).rejects.toMatchObject({ code: "AUTHZ_UNAVAILABLE" });
  expect(read).not.toHaveBeenCalled();
  await expect(b.run("bulk_check", up)).resolves.toBe("ok");
  expect(b.state).toBe("closed");
});

it("an answer from the PDP that is not an outage (a 4xx) does not count", async () => {
  const { b } = breaker();
  const rejected = () => Promise.reject(Object.assign(new Error("bad request"), { response: { status: 400 } }));
  for (let i = 0; i < 5; i++) await expect(b.run("bulk_check", rejected)).rejects.toBeDefined();
  expect(b.state).toBe("closed");
});
