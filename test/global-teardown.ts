export default async function globalTeardown(): Promise<void> {
  // Both API projects run this: the first stops the cluster, the second finds it gone.
  const pg = globalThis.__EMBEDDED_PG__;
  globalThis.__EMBEDDED_PG__ = undefined;
  await pg?.stop();
}
