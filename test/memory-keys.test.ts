import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Option, Schema } from "effect"
import * as E from "../src/domain/DeepMemoryErrors.js"
import { MemoryKeys, permits } from "../src/services/MemoryKeys.js"

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

const keysWith = (env: Record<string, string>) =>
  Effect.flatMap(MemoryKeys, (k) => Effect.succeed(k)).pipe(Effect.provide(MemoryKeys.Default), withEnv(env))

const teamAReader = "team-a-reader-key-0123456789"
const teamAWriter = "team-a-writer-key-0123456789"
const admin = "global-admin-key-0123456789"
const json = JSON.stringify([
  { key: teamAReader, role: "read", namespaces: ["teamA"] },
  { key: teamAWriter, role: "write", namespaces: ["teamA", "shared"] },
  { key: admin, role: "admin" }
])

describe("MemoryKeys", () => {
  it.effect("auth is off without keys: everyone is an admin on every namespace", () =>
    Effect.gen(function*() {
      const keys = yield* keysWith({})
      expect(keys.authEnabled).toBe(false)
      const p = Option.getOrThrow(keys.authenticate(undefined))
      expect(permits(p, "admin", "anything")).toBe(true)
    }))

  it.effect("roles rank read < write < admin and namespace allowlists hold", () =>
    Effect.gen(function*() {
      const keys = yield* keysWith({ API_KEYS_JSON: json })
      expect(keys.authEnabled).toBe(true)
      expect(Option.isNone(keys.authenticate(undefined))).toBe(true)
      expect(Option.isNone(keys.authenticate("nope-nope-nope-nope"))).toBe(true)
      const reader = Option.getOrThrow(keys.authenticate(teamAReader))
      expect(permits(reader, "read", "teamA")).toBe(true)
      expect(permits(reader, "write", "teamA")).toBe(false)
      expect(permits(reader, "read", "teamB")).toBe(false)
      const writer = Option.getOrThrow(keys.authenticate(teamAWriter))
      expect(permits(writer, "write", "shared")).toBe(true)
      expect(permits(writer, "admin", "teamA")).toBe(false)
      expect(permits(writer, "read", "teamB")).toBe(false)
      const root = Option.getOrThrow(keys.authenticate(admin))
      expect(permits(root, "admin", "teamB")).toBe(true)
      expect(root.keyId).toMatch(/^k_[0-9a-f]{12}$/)
    }))

  it.effect("legacy API_KEY and API_KEYS are admins on every namespace", () =>
    Effect.gen(function*() {
      const keys = yield* keysWith({ API_KEY: "legacy-single-0123456789", API_KEYS: "a-legacy-0123456789, b-legacy-0123456789" })
      for (const k of ["legacy-single-0123456789", "a-legacy-0123456789", "b-legacy-0123456789"]) {
        expect(permits(Option.getOrThrow(keys.authenticate(k)), "admin", "x")).toBe(true)
      }
    }))

  it.effect("bad configuration stops start-up naming the variable, never echoing a key", () =>
    Effect.gen(function*() {
      const secret = "super-secret-0123456789"
      const unknownRole = yield* Effect.flip(keysWith({ API_KEYS_JSON: JSON.stringify([{ key: secret, role: "root" }]) }))
      expect(String(unknownRole)).toContain("unknown role")
      expect(String(unknownRole)).not.toContain(secret)
      const requireWithout = yield* Effect.flip(keysWith({ REQUIRE_API_KEY: "true" }))
      expect(String(requireWithout)).toContain("REQUIRE_API_KEY")
      const notBoolean = yield* Effect.flip(keysWith({ REQUIRE_API_KEY: "yes", API_KEY: "legacy-single-0123456789" }))
      expect(String(notBoolean)).toContain("REQUIRE_API_KEY")
      const notJson = yield* Effect.flip(keysWith({ API_KEYS_JSON: "[{" }))
      expect(String(notJson)).toContain("API_KEYS_JSON")
    }))
})

describe("deep-memory wire errors", () => {
  it("encode to the contract's codes with their extra fields, and decode back", () => {
    const encode = (schema: Schema.Schema<any, any>, value: unknown) => Schema.encodeSync(schema)(value)
    expect(encode(E.QueueOverloadedWire, new E.QueueOverloaded({ message: "backlog", retryAfterSeconds: 30 }))).toEqual({
      error: "queue_overloaded",
      message: "backlog",
      retryAfterSeconds: 30
    })
    expect(encode(E.PayloadTooLargeWire, new E.PayloadTooLarge({ message: "big", limitBytes: 1024 }))).toEqual({
      error: "payload_too_large",
      message: "big",
      limitBytes: 1024
    })
    const decoded = Schema.decodeUnknownSync(E.DegradedReadOnlyWire)({ error: "degraded_read_only", retryAfterSeconds: 5 })
    expect(decoded).toBeInstanceOf(E.DegradedReadOnly)
    expect(E.retryAfterOf(decoded)).toBe(5)
    expect(() => Schema.decodeUnknownSync(E.DegradedReadOnlyWire)({ error: "queue_overloaded", retryAfterSeconds: 5 })).toThrow()
  })
})
