/** Set for the "in-process decisions" jest project: test/support/api.ts reads it. */
process.env.TEST_LOCAL_PDP_DECISIONS = "in-process";
