/**
 * Talks to a real Neo4j 5.26 over Bolt with `neo4j-driver` (the server comes from
 * tools/neo4j + scripts/neo4j.sh, or any Neo4j 5.x):
 *
 *   scripts/neo4j.sh build
 *   scripts/neo4j.sh start /tmp/neo4j-test 17687        # prints bolt://127.0.0.1:17687
 *   OPENCLAW_TEST_NEO4J_URI=bolt://127.0.0.1:17687 OPENCLAW_TEST_NEO4J_PASSWORD=... \
 *     npx vitest run test/neo4j-runner.test.ts
 *
 * Unset OPENCLAW_TEST_NEO4J_URI: skipped (the skipped test names the reason), unless
 * OPENCLAW_REQUIRE_INTEGRATION=1, which turns the skip into a failure.
 * Everything the test writes carries a per-run label and constraint name, and is removed afterwards.
 */
import { randomBytes } from "node:crypto"
import neo4j, { type Driver, type Record as Neo4jRecord } from "neo4j-driver"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const URI_VAR = "OPENCLAW_TEST_NEO4J_URI"
const PASSWORD_VAR = "OPENCLAW_TEST_NEO4J_PASSWORD"
const USER_VAR = "OPENCLAW_TEST_NEO4J_USER"
const REQUIRE_VAR = "OPENCLAW_REQUIRE_INTEGRATION"

const uri = process.env[URI_VAR]?.trim() || undefined
const password = process.env[PASSWORD_VAR] ?? ""
const user = process.env[USER_VAR]?.trim() || "neo4j"
const required = process.env[REQUIRE_VAR] === "1"

const suffix = randomBytes(4).toString("hex")
const label = `OcRunnerTest_${suffix}`
const constraint = `oc_runner_test_${suffix}_key`

/** The first record of a result, failing the test when there is none. */
const first = (records: ReadonlyArray<Neo4jRecord>): Neo4jRecord => {
  const record = records[0]
  if (!record) throw new Error("expected at least one record")
  return record
}

if (!uri) {
  const reason = `${URI_VAR} is not set (start one with scripts/neo4j.sh start <dir> <port>)`
  if (required) {
    describe("neo4j (Bolt)", () => {
      it(`is required by ${REQUIRE_VAR}=1 but ${reason}`, () => {
        throw new Error(`${REQUIRE_VAR}=1 requires a Neo4j server: ${reason}`)
      })
    })
  } else {
    describe.skip(`neo4j (Bolt): skipped, ${reason}`, () => {
      it("connects, creates a constraint and a node, reads it back, drops it", () => {})
    })
  }
} else {
  describe(`neo4j (Bolt) at ${uri}`, () => {
    let driver: Driver

    beforeAll(async () => {
      if (!password) throw new Error(`${URI_VAR} is set but ${PASSWORD_VAR} is empty`)
      driver = neo4j.driver(uri, neo4j.auth.basic(user, password), {
        connectionTimeout: 10_000,
        maxConnectionPoolSize: 4
      })
      await driver.verifyConnectivity()
    })

    afterAll(async () => {
      if (!driver) return
      try {
        await driver.executeQuery(`MATCH (n:\`${label}\`) DETACH DELETE n`)
        await driver.executeQuery(`DROP CONSTRAINT \`${constraint}\` IF EXISTS`)
      } finally {
        await driver.close()
      }
    })

    it("reports a 5.x server", async () => {
      const info = await driver.getServerInfo()
      expect(info.agent).toMatch(/^Neo4j\/5\./)
      expect(info.protocolVersion).toBeGreaterThanOrEqual(5)
    })

    it("creates a uniqueness constraint, writes nodes, reads them back with an integer LIMIT, drops them", async () => {
      await driver.executeQuery(
        `CREATE CONSTRAINT \`${constraint}\` IF NOT EXISTS FOR (n:\`${label}\`) REQUIRE n.key IS UNIQUE`
      )
      const shown = await driver.executeQuery(
        "SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties WHERE name = $name RETURN type, labelsOrTypes, properties",
        { name: constraint }
      )
      expect(shown.records).toHaveLength(1)
      expect(first(shown.records).get("type")).toBe("UNIQUENESS")
      expect(first(shown.records).get("labelsOrTypes")).toEqual([label])
      expect(first(shown.records).get("properties")).toEqual(["key"])

      // 7 nodes; integers cross Bolt as Neo4j INTEGER (64-bit) when sent with neo4j.int
      const write = await driver.executeQuery(
        `UNWIND range(1, 7) AS i CREATE (n:\`${label}\` {key: $prefix + toString(i), n: i, note: $note}) RETURN count(n) AS created`,
        { prefix: "k", note: "héllo ✓" }
      )
      expect(neo4j.integer.toNumber(first(write.records).get("created"))).toBe(7)
      expect(write.summary.counters.updates().nodesCreated).toBe(7)

      const read = await driver.executeQuery(
        `MATCH (n:\`${label}\`) WHERE n.n >= $min RETURN n.key AS key, n.n AS n, n.note AS note ORDER BY n.n LIMIT $limit`,
        { min: neo4j.int(2), limit: neo4j.int(5) },
        { routing: neo4j.routing.READ }
      )
      expect(read.records.map((r) => r.get("key"))).toEqual(["k2", "k3", "k4", "k5", "k6"])
      const n = first(read.records).get("n")
      expect(neo4j.isInt(n)).toBe(true)
      expect(neo4j.integer.toNumber(n)).toBe(2)
      expect(first(read.records).get("note")).toBe("héllo ✓")

      // the constraint is enforced
      const duplicate = await driver
        .executeQuery(`CREATE (:\`${label}\` {key: "k1"})`)
        .then(() => undefined, (e: unknown) => e as { code?: string })
      expect(duplicate?.code).toBe("Neo.ClientError.Schema.ConstraintValidationFailed")

      // a session transaction that reads what it wrote, then rolls back
      const session = driver.session()
      try {
        const tx = await session.beginTransaction()
        await tx.run(`CREATE (:\`${label}\` {key: "rolled-back", n: $n})`, { n: neo4j.int(99) })
        const inTx = await tx.run(`MATCH (n:\`${label}\`) RETURN count(n) AS c`)
        expect(neo4j.integer.toNumber(first(inTx.records).get("c"))).toBe(8)
        await tx.rollback()
      } finally {
        await session.close()
      }

      const removed = await driver.executeQuery(`MATCH (n:\`${label}\`) DETACH DELETE n RETURN count(*) AS c`)
      expect(neo4j.integer.toNumber(first(removed.records).get("c"))).toBe(7)
      await driver.executeQuery(`DROP CONSTRAINT \`${constraint}\``)
      const left = await driver.executeQuery(
        "SHOW CONSTRAINTS YIELD name WHERE name = $name RETURN name",
        { name: constraint }
      )
      expect(left.records).toHaveLength(0)
    })

    it("rejects a wrong password", async () => {
      const bad = neo4j.driver(uri, neo4j.auth.basic(user, `${password}-wrong`), { connectionTimeout: 10_000 })
      try {
        const err = await bad.verifyConnectivity().then(() => undefined, (e: unknown) => e as { code?: string })
        expect(err?.code).toBe("Neo.ClientError.Security.Unauthorized")
      } finally {
        await bad.close()
      }
    })
  })
}
