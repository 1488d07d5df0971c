import { ConfigProvider } from "effect"
import { it } from "vitest"

/**
 * The Neo4j to run graph suites against: OPENCLAW_TEST_NEO4J_URI (+ _USER, _PASSWORD). Unset: those
 * suites are skipped with a reason, unless OPENCLAW_REQUIRE_INTEGRATION=1, which fails the run.
 */
export const neo4jTestConfig = (): ReadonlyArray<ConfigProvider.ConfigProvider> => {
  const uri = process.env.OPENCLAW_TEST_NEO4J_URI?.trim()
  if (uri === undefined || uri === "") {
    const reason = "OPENCLAW_TEST_NEO4J_URI is not set: Neo4j suites skipped (scripts/neo4j.sh starts one)"
    if (process.env.OPENCLAW_REQUIRE_INTEGRATION === "1") throw new Error(`OPENCLAW_REQUIRE_INTEGRATION=1 but ${reason}`)
    it.skip(`[neo4j] ${reason}`, () => undefined)
    return []
  }
  return [
    ConfigProvider.fromMap(new Map([
      ["NEO4J_URI", uri],
      ["NEO4J_USER", process.env.OPENCLAW_TEST_NEO4J_USER ?? "neo4j"],
      ["NEO4J_PASSWORD", process.env.OPENCLAW_TEST_NEO4J_PASSWORD ?? ""]
    ]))
  ]
}
