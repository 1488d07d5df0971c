import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Context, Duration, Effect, Layer, Option, Redacted, type Scope } from "effect"
import {
  Embedder,
  EmbedderError,
  type EmbedderSelection,
  embedderLayerFromConfig,
  embedderSelectionFromConfig,
  type FeatureExtractor,
  layerBuiltin,
  layerOpenAiCompatible,
  layerTransformers,
  makeBuiltin
} from "../src/services/Embedder.js"
import { lightStem } from "../src/services/embedder/hashing.js"

const cosine = (a: Float32Array, b: Float32Array) => {
  let dot = 0
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!
  return dot
}
const norm = (v: Float32Array) => Math.sqrt(cosine(v, v))

/** Keeps the layer (and its HTTP client) alive for the rest of the test's scope. */
const buildEmbedder = <E>(layer: Layer.Layer<Embedder, E>): Effect.Effect<Embedder["Type"], E, Scope.Scope> =>
  Effect.map(Layer.build(layer), Context.get(Embedder))

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

// [text, paraphrase, unrelated]
const ENGLISH: ReadonlyArray<readonly [string, string, string]> = [
  ["I moved to Berlin last year for a new job", "Last year I relocated to Berlin because of a new job", "My favourite dessert is chocolate cake"],
  ["The user prefers dark mode in the code editor", "User likes the editor with the dark mode theme", "The quarterly revenue grew by ten percent"],
  ["My daughter is allergic to peanuts", "Peanuts cause an allergic reaction in my daughter", "We are planning a trip to Japan in spring"],
  ["Remind me to renew the car insurance in March", "The car insurance renewal is due in March", "He plays guitar in a jazz band"],
  ["The backup server runs every night at 2am", "Nightly backups run on the server at 2am", "She adopted a kitten from the animal shelter"],
  ["I am learning to play the piano", "Learning piano is my current hobby", "The database migration failed because of a lock timeout"],
  ["Our team uses PostgreSQL for the billing database", "The billing database of the team is PostgreSQL", "I went hiking in the mountains on Sunday"],
  ["He is running a marathon in October", "He will run the October marathon", "The invoice was sent to the wrong address"],
  ["The meeting with the design team was moved to Thursday", "Design team meeting moved to Thursday", "Please water the plants while I'm away"],
  ["My password manager stores all my credentials", "All credentials are stored in a password manager", "The restaurant serves authentic Italian pizza"],
  ["Retrieval augmented generation improves answers", "retreival augmented generaton improves the answers", "My grandmother knits warm sweaters"],
  ["The kids go to school by bus", "Children take the school bus every morning", "Quantum computers use qubits"]
]

const CHINESE: ReadonlyArray<readonly [string, string, string]> = [
  ["我去年搬到了上海工作", "去年我因为工作搬去上海", "我最喜欢的甜点是巧克力蛋糕"],
  ["用户喜欢在编辑器里使用深色模式", "用户偏好编辑器的深色主题", "公司第三季度的营收增长了百分之十"],
  ["我女儿对花生过敏", "花生会让我女儿过敏", "我们计划春天去日本旅行"],
  ["提醒我三月份续保汽车保险", "汽车保险三月份需要续保", "他在爵士乐队里弹吉他"],
  ["备份服务器每天凌晨两点运行", "服务器每天凌晨两点做备份", "她从收容所领养了一只小猫"],
  ["我正在学习弹钢琴", "学钢琴是我最近的爱好", "数据库迁移因为锁超时失败了"],
  ["我们团队用PostgreSQL做账单数据库", "团队的账单数据库是PostgreSQL", "周日我去山里徒步了"],
  ["他十月份要跑马拉松", "他将参加十月的马拉松比赛", "发票寄错了地址"],
  ["和设计团队的会议改到了周四", "设计团队会议推迟到周四", "我不在家的时候请帮我浇花"],
  ["我的密码管理器保存了所有账号密码", "所有的账号密码都存在密码管理器里", "这家餐厅的意大利披萨很正宗"],
  ["孩子们每天坐校车上学", "孩子每天早上坐校车去学校", "量子计算机使用量子比特"]
]

describe("built-in embedder", () => {
  it.effect("is deterministic, normalized and honours the dimension", () =>
    Effect.gen(function*() {
      const embedder = yield* Embedder
      expect(embedder.id).toBe("builtin-hash-v1:384")
      expect(embedder.dimensions).toBe(384)
      const texts = ["The quick brown fox jumps over the lazy dog", "我们明天去公园散步", "mixed 中英文 text 2024"]
      const first = yield* embedder.embed(texts, "document")
      const second = yield* embedder.embed(texts, "query")
      expect(first).toHaveLength(3)
      first.forEach((vector, i) => {
        expect(vector).toBeInstanceOf(Float32Array)
        expect(vector.length).toBe(384)
        expect(norm(vector)).toBeCloseTo(1, 5)
        expect(Array.from(vector)).toEqual(Array.from(second[i]!))
      })
      // A fresh instance (no shared state) gives bit-identical vectors.
      const again = yield* makeBuiltin(384).embed(texts, "document")
      expect(Array.from(again[0]!)).toEqual(Array.from(first[0]!))
    }).pipe(Effect.provide(layerBuiltin())))

  it.effect("honours other dimensions", () =>
    Effect.gen(function*() {
      const embedder = yield* Embedder
      expect(embedder.id).toBe("builtin-hash-v1:64")
      const [vector] = yield* embedder.embed(["a short sentence about embeddings"], "document")
      expect(vector!.length).toBe(64)
      expect(norm(vector!)).toBeCloseTo(1, 5)
    }).pipe(Effect.provide(layerBuiltin(64))))

  for (const [language, pairs] of [["English", ENGLISH], ["Chinese", CHINESE]] as const) {
    it.effect(`puts ${language} paraphrases closer than unrelated texts`, () =>
      Effect.gen(function*() {
        const embedder = yield* Embedder
        expect(pairs.length).toBeGreaterThanOrEqual(10)
        let paraphraseSum = 0
        let unrelatedSum = 0
        for (const [text, paraphrase, unrelated] of pairs) {
          const [a, b, c] = yield* embedder.embed([text, paraphrase, unrelated], "document")
          const close = cosine(a!, b!)
          const far = cosine(a!, c!)
          expect(close, `${text} ~ ${paraphrase}`).toBeGreaterThan(far + 0.2)
          expect(far, `${text} vs ${unrelated}`).toBeLessThan(0.2)
          paraphraseSum += close
          unrelatedSum += far
        }
        expect(paraphraseSum / pairs.length).toBeGreaterThan(0.55)
        expect(Math.abs(unrelatedSum / pairs.length)).toBeLessThan(0.1)
      }).pipe(Effect.provide(layerBuiltin())))
  }

  it.effect("embeds mixed-language text close to each of its halves", () =>
    Effect.gen(function*() {
      const embedder = yield* Embedder
      const [mixed, english, chinese, unrelated] = yield* embedder.embed(
        ["我们的前端用 React 和 TypeScript 写的", "The frontend is written in React and TypeScript", "前端是用什么写的", "今天天气很好 the weather is nice"],
        "query"
      )
      expect(norm(mixed!)).toBeCloseTo(1, 5)
      expect(cosine(mixed!, english!)).toBeGreaterThan(cosine(mixed!, unrelated!) + 0.1)
      expect(cosine(mixed!, chinese!)).toBeGreaterThan(cosine(mixed!, unrelated!) + 0.1)
    }).pipe(Effect.provide(layerBuiltin())))

  it.effect("gives the all-zero vector for text without words", () =>
    Effect.gen(function*() {
      const embedder = yield* Embedder
      const vectors = yield* embedder.embed(["", "   ", "?!…", "the"], "query")
      for (const vector of vectors.slice(0, 3)) {
        expect(vector.length).toBe(384)
        expect(vector.every((x) => x === 0)).toBe(true)
      }
      // Function words are down-weighted, not dropped: a text of only those still embeds.
      expect(norm(vectors[3]!)).toBeCloseTo(1, 5)
      expect(yield* embedder.embed([], "document")).toEqual([])
    }).pipe(Effect.provide(layerBuiltin())))

  it.effect("matches inflections and typos through stems and trigrams", () =>
    Effect.gen(function*() {
      const embedder = yield* Embedder
      expect(["stores", "stored", "storing", "store"].map(lightStem)).toEqual(["stor", "stor", "stor", "stor"])
      expect(["running", "runs", "run"].map(lightStem)).toEqual(["run", "run", "run"])
      const [typo, right, other] = yield* embedder.embed(["kubernetes deploymnet", "Kubernetes deployment", "garden tomatoes"], "query")
      expect(cosine(typo!, right!)).toBeGreaterThan(0.5)
      expect(cosine(typo!, other!)).toBeLessThan(0.15)
    }).pipe(Effect.provide(layerBuiltin())))

  it("embeds 1,000 short texts well under a second", () => {
    const embedder = makeBuiltin()
    const texts = Array.from({ length: 1000 }, (_, i) =>
      i % 2 === 0 ? `Meeting ${i} with the design team moved to Thursday` : `第${i}次设计评审会议改到了周四下午`)
    const started = performance.now()
    const vectors = Effect.runSync(embedder.embed(texts, "document"))
    const elapsed = performance.now() - started
    expect(vectors).toHaveLength(1000)
    expect(elapsed).toBeLessThan(500)
  })
})

// ------------------------------------------------------------------------------------------------
// OpenAI-compatible

interface RecordedRequest {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: unknown
}

type Reply =
  | { readonly kind: "embeddings"; readonly dims: number; readonly shuffle?: boolean }
  | { readonly kind: "status"; readonly status: number; readonly body: string; readonly headers?: Record<string, string> }
  | { readonly kind: "hang" }

/** An in-process stand-in for `/v1/embeddings`: answers from a script, then with embeddings. */
class FakeOpenAiEmbeddingsServer {
  readonly requests: Array<RecordedRequest> = []
  private readonly script: Array<Reply> = []
  private constructor(private readonly server: http.Server, readonly baseUrl: string) {}

  static readonly start = Effect.acquireRelease(
    Effect.async<FakeOpenAiEmbeddingsServer>((resume) => {
      let fake: FakeOpenAiEmbeddingsServer | undefined
      const server = http.createServer((req, res) => fake!.handle(req, res))
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        fake = new FakeOpenAiEmbeddingsServer(server, `http://127.0.0.1:${port}`)
        resume(Effect.succeed(fake))
      })
    }),
    (fake) =>
      Effect.async<void>((resume) => {
        fake.server.closeAllConnections()
        fake.server.close(() => resume(Effect.void))
      })
  )

  reply(...replies: Array<Reply>) {
    this.script.push(...replies)
  }

  /** A deterministic vector for a text, so order mistakes show up. */
  static vectorFor(text: string, dims: number): Array<number> {
    return Array.from({ length: dims }, (_, i) => (i === text.length % dims ? 3 : 0) + (i + 1) / 1000)
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8")
      let body: unknown = raw
      try {
        body = JSON.parse(raw)
      } catch {
        // recorded as text
      }
      this.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body })
      const reply = this.script.shift() ?? { kind: "embeddings", dims: 8 }
      if (reply.kind === "hang") return
      if (reply.kind === "status") {
        res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers })
        res.end(reply.body)
        return
      }
      const input = (body as { input: Array<string> }).input
      const data = input.map((text, index) => ({
        object: "embedding",
        index,
        embedding: FakeOpenAiEmbeddingsServer.vectorFor(text, reply.dims)
      }))
      if (reply.shuffle === true) data.reverse()
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({ object: "list", data, model: (body as { model: string }).model }))
    })
  }
}

const SECRET = "sk-test-THIS-MUST-NEVER-LEAK-1234567890"

const openAiLayer = (fake: FakeOpenAiEmbeddingsServer, overrides: Partial<Parameters<typeof layerOpenAiCompatible>[0]> = {}) =>
  layerOpenAiCompatible({
    baseUrl: fake.baseUrl,
    model: "nomic-embed-text",
    apiKey: Option.some(Redacted.make(SECRET)),
    dimensions: Option.some(8),
    timeout: Duration.seconds(5),
    batchSize: 64,
    retry: { baseDelay: "10 millis", maxDelay: "50 millis", maxRetries: 3 },
    ...overrides
  }).pipe(Layer.provide(NodeHttpClient.layerUndici))

const expectedVector = (text: string, dims: number) => {
  const raw = FakeOpenAiEmbeddingsServer.vectorFor(text, dims)
  const length = Math.hypot(...raw)
  return raw.map((x) => x / length)
}

const expectSafe = (error: EmbedderError) => {
  for (const rendered of [error.message, String(error), JSON.stringify(error)]) {
    expect(rendered).not.toContain(SECRET)
    expect(rendered).not.toContain("NEVER-LEAK")
  }
}

describe("OpenAI-compatible embedder", () => {
  it.scopedLive("sends {model, input} with the key, and orders the answer by index", () =>
    Effect.gen(function*() {
      const fake = yield* FakeOpenAiEmbeddingsServer.start
      fake.reply({ kind: "embeddings", dims: 8, shuffle: true })
      const embedder = yield* buildEmbedder(openAiLayer(fake))
      expect(embedder.id).toBe("openai:nomic-embed-text:8")
      expect(embedder.dimensions).toBe(8)
      const texts = ["a", "bb", "ccc", "dddd"]
      const vectors = yield* embedder.embed(texts, "document")
      expect(fake.requests).toHaveLength(1)
      const [request] = fake.requests
      expect(request!.method).toBe("POST")
      expect(request!.url).toBe("/v1/embeddings")
      expect(request!.headers.authorization).toBe(`Bearer ${SECRET}`)
      expect(request!.headers["content-type"]).toContain("application/json")
      expect(request!.body).toEqual({ model: "nomic-embed-text", input: texts })
      vectors.forEach((vector, i) => {
        expect(Array.from(vector).map((x) => Number(x.toFixed(5)))).toEqual(
          expectedVector(texts[i]!, 8).map((x) => Number(x.toFixed(5)))
        )
      })
    }))

  it.scopedLive("splits into batches of EMBEDDING_BATCH and learns the dimension when not configured", () =>
    Effect.gen(function*() {
      const fake = yield* FakeOpenAiEmbeddingsServer.start
      fake.reply({ kind: "embeddings", dims: 12 }, { kind: "embeddings", dims: 12 }, { kind: "embeddings", dims: 12 })
      const embedder = yield* buildEmbedder(
        openAiLayer(fake, { dimensions: Option.none(), batchSize: 2, apiKey: Option.none(), baseUrl: `${fake.baseUrl}/v1/` })
      )
      expect(embedder.dimensions).toBe(12)
      expect(embedder.id).toBe("openai:nomic-embed-text:12")
      const vectors = yield* embedder.embed(["one", "two", "three"], "query")
      expect(vectors.map((v) => v.length)).toEqual([12, 12, 12])
      expect(fake.requests.map((r) => (r.body as { input: Array<string> }).input)).toEqual([
        ["dimension probe"],
        ["one", "two"],
        ["three"]
      ])
      expect(fake.requests.every((r) => r.url === "/v1/embeddings" && r.headers.authorization === undefined)).toBe(true)
    }))

  it.scopedLive("retries 429 and 5xx, then succeeds", () =>
    Effect.gen(function*() {
      const fake = yield* FakeOpenAiEmbeddingsServer.start
      const embedder = yield* buildEmbedder(openAiLayer(fake))
      fake.reply(
        { kind: "status", status: 429, body: `{"error":{"message":"slow down"}}`, headers: { "retry-after": "0" } },
        { kind: "status", status: 503, body: "busy" }
      )
      const vectors = yield* embedder.embed(["hello"], "query")
      expect(vectors).toHaveLength(1)
      expect(fake.requests).toHaveLength(3)
    }))

  it.scopedLive("gives up after the capped retries with reason unavailable", () =>
    Effect.gen(function*() {
      const fake = yield* FakeOpenAiEmbeddingsServer.start
      const embedder = yield* buildEmbedder(openAiLayer(fake))
      const overloaded = { kind: "status", status: 429, body: "{}" } as const
      fake.reply(overloaded, overloaded, overloaded, overloaded, overloaded)
      const error = yield* Effect.flip(embedder.embed(["hello"], "query"))
      expect(error).toBeInstanceOf(EmbedderError)
      expect(error.reason).toBe("unavailable")
      expect(fake.requests).toHaveLength(4)
      expectSafe(error)
    }))

  it.scopedLive("fails with reason timeout when the peer does not answer", () =>
    Effect.gen(function*() {
      const fake = yield* FakeOpenAiEmbeddingsServer.start
      const embedder = yield* buildEmbedder(openAiLayer(fake, { timeout: Duration.millis(200) }))
      fake.reply({ kind: "hang" })
      const error = yield* Effect.flip(embedder.embed(["hello"], "query"))
      expect(error.reason).toBe("timeout")
      expect(fake.requests).toHaveLength(1)
      expectSafe(error)
    }))

  it.scopedLive("maps malformed bodies to bad_response", () =>
    Effect.gen(function*() {
      const fake = yield* FakeOpenAiEmbeddingsServer.start
      const embedder = yield* buildEmbedder(openAiLayer(fake))
      const v = "[1,2,3,4,5,6,7,8]"
      const malformed = [
        "not json",
        `{"data": "nope"}`,
        `{"data": [{"index": 0, "embedding": [1, 2]}, {"index": 1, "embedding": [1, 2]}]}`,
        `{"data": [{"index": 0, "embedding": ${v}}, {"index": 0, "embedding": ${v}}]}`,
        `{"data": [{"index": 0, "embedding": ${v}}]}`,
        `{"data": [{"index": 0, "embedding": ${v}}, {"index": 7, "embedding": ${v}}]}`
      ]
      for (const body of malformed) {
        fake.reply({ kind: "status", status: 200, body })
        const error = yield* Effect.flip(embedder.embed(["one", "two"], "query"))
        expect(error.reason, body).toBe("bad_response")
        expectSafe(error)
      }
    }))

  it.scopedLive("never puts the key in errors, even when the server echoes it", () =>
    Effect.gen(function*() {
      const fake = yield* FakeOpenAiEmbeddingsServer.start
      const embedder = yield* buildEmbedder(
        openAiLayer(fake, { baseUrl: fake.baseUrl.replace("http://", `http://user:${SECRET}@`) })
      )
      fake.reply({ kind: "status", status: 401, body: JSON.stringify({ error: { message: `Incorrect API key provided: ${SECRET}` } }) })
      const error = yield* Effect.flip(embedder.embed(["hello"], "query"))
      expect(error.reason).toBe("config")
      expect(error.message).toContain("HTTP 401")
      expect(error.message).toContain("Incorrect API key provided")
      expectSafe(error)
    }))

  it.scopedLive("reports an unreachable endpoint as unavailable", () =>
    Effect.gen(function*() {
      const fake = yield* FakeOpenAiEmbeddingsServer.start
      const closedPort = yield* Effect.async<string>((resume) => {
        const probe = http.createServer().listen(0, "127.0.0.1", () => {
          const { port } = probe.address() as AddressInfo
          probe.close(() => resume(Effect.succeed(`http://127.0.0.1:${port}`)))
        })
      })
      const error = yield* Effect.flip(buildEmbedder(openAiLayer(fake, { baseUrl: closedPort, dimensions: Option.none() })))
      expect(error.reason).toBe("unavailable")
      expectSafe(error)
    }))
})

// ------------------------------------------------------------------------------------------------
// transformers.js

// The hub is out of reach here and no npm package ships a small embedding model, so the real
// inference test runs on a model written below: a BERT-shaped ONNX graph whose only node is the
// token-embedding lookup (Gather), with a WordPiece tokenizer. Hand-encoded protobuf, ONNX field
// numbers from onnx.proto.
const protoVarint = (value: number): Buffer => {
  const out: Array<number> = []
  let v = value
  do {
    let byte = v % 128
    v = Math.floor(v / 128)
    if (v > 0) byte |= 0x80
    out.push(byte)
  } while (v > 0)
  return Buffer.from(out)
}
const protoInt = (field: number, value: number) => Buffer.concat([protoVarint(field << 3), protoVarint(value)])
const protoBytes = (field: number, bytes: Buffer) => Buffer.concat([protoVarint((field << 3) | 2), protoVarint(bytes.length), bytes])
const protoString = (field: number, text: string) => protoBytes(field, Buffer.from(text, "utf8"))
const protoMessage = (field: number, ...parts: Array<Buffer>) => protoBytes(field, Buffer.concat(parts))

const ONNX_FLOAT = 1
const ONNX_INT64 = 7

const valueInfo = (field: number, name: string, elemType: number, dims: ReadonlyArray<string | number>) =>
  protoMessage(
    field,
    protoString(1, name),
    protoMessage(
      2,
      protoMessage(
        1,
        protoInt(1, elemType),
        protoMessage(2, ...dims.map((d) => protoMessage(1, typeof d === "number" ? protoInt(1, d) : protoString(2, d))))
      )
    )
  )

const writeTinyBertModel = (dir: string, words: ReadonlyArray<string>, hidden: number) => {
  const vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ...words]
  const weights = new Float32Array(vocab.length * hidden)
  let seed = 12345
  for (let i = 0; i < weights.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    weights[i] = (seed / 2 ** 32) * 2 - 1
  }
  const table = protoMessage(
    5,
    protoInt(1, vocab.length),
    protoInt(1, hidden),
    protoInt(2, ONNX_FLOAT),
    protoString(8, "embeddings"),
    protoBytes(9, Buffer.from(weights.buffer))
  )
  const lookup = protoMessage(
    1,
    protoString(1, "embeddings"),
    protoString(1, "input_ids"),
    protoString(2, "last_hidden_state"),
    protoString(3, "lookup"),
    protoString(4, "Gather")
  )
  const graph = protoMessage(
    7,
    lookup,
    protoString(2, "tiny"),
    table,
    valueInfo(11, "input_ids", ONNX_INT64, ["batch", "sequence"]),
    valueInfo(11, "attention_mask", ONNX_INT64, ["batch", "sequence"]),
    valueInfo(11, "token_type_ids", ONNX_INT64, ["batch", "sequence"]),
    valueInfo(12, "last_hidden_state", ONNX_FLOAT, ["batch", "sequence", hidden])
  )
  const model = Buffer.concat([protoInt(1, 8), protoString(2, "openclaw-test"), graph, protoMessage(8, protoString(1, ""), protoInt(2, 13))])
  fs.mkdirSync(path.join(dir, "onnx"), { recursive: true })
  fs.writeFileSync(path.join(dir, "onnx", "model.onnx"), model)
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ model_type: "bert", hidden_size: hidden, vocab_size: vocab.length }))
  fs.writeFileSync(
    path.join(dir, "tokenizer_config.json"),
    JSON.stringify({
      tokenizer_class: "BertTokenizer",
      do_lower_case: true,
      model_max_length: 512,
      unk_token: "[UNK]",
      cls_token: "[CLS]",
      sep_token: "[SEP]",
      pad_token: "[PAD]",
      mask_token: "[MASK]"
    })
  )
  const cls = { SpecialToken: { id: "[CLS]", type_id: 0 } }
  const sep = { SpecialToken: { id: "[SEP]", type_id: 0 } }
  fs.writeFileSync(
    path.join(dir, "tokenizer.json"),
    JSON.stringify({
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: vocab.slice(0, 5).map((content, id) => ({
        id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true
      })),
      normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      pre_tokenizer: { type: "BertPreTokenizer" },
      post_processor: {
        type: "TemplateProcessing",
        single: [cls, { Sequence: { id: "A", type_id: 0 } }, sep],
        pair: [cls, { Sequence: { id: "A", type_id: 0 } }, sep, { Sequence: { id: "B", type_id: 1 } }, sep],
        special_tokens: {
          "[CLS]": { id: "[CLS]", ids: [2], tokens: ["[CLS]"] },
          "[SEP]": { id: "[SEP]", ids: [3], tokens: ["[SEP]"] }
        }
      },
      decoder: { type: "WordPiece", prefix: "##", cleanup: true },
      model: {
        type: "WordPiece",
        unk_token: "[UNK]",
        continuing_subword_prefix: "##",
        max_input_chars_per_word: 100,
        vocab: Object.fromEntries(vocab.map((token, id) => [token, id]))
      }
    })
  )
}

const fakeExtractor = (dims: number, calls: Array<Array<string>>): FeatureExtractor =>
  Object.assign(
    async (texts: Array<string>, options: { readonly pooling: "mean"; readonly normalize: true }) => {
      expect(options).toEqual({ pooling: "mean", normalize: true })
      calls.push(texts)
      return {
        dims: [texts.length, dims],
        data: Float32Array.from({ length: texts.length * dims }, (_, i) => (i % dims === 0 ? texts[Math.floor(i / dims)]!.length : 1))
      }
    },
    {}
  )

describe("transformers.js embedder", () => {
  it.effect("fails with reason config when the model directory does not exist", () =>
    Effect.gen(function*() {
      const missing = path.join(os.tmpdir(), "openclaw-no-such-model-dir")
      const error = yield* Effect.flip(Effect.provide(Embedder, layerTransformers({ model: missing, batchSize: 8, dimensions: Option.none() })))
      expect(error.reason).toBe("config")
      expect(error.message).toContain("no model directory")
    }))

  it.effect("loads through the loader, batches, and checks VECTOR_DIMS", () =>
    Effect.gen(function*() {
      const calls: Array<Array<string>> = []
      const loads: Array<{ model: string; localFilesOnly: boolean }> = []
      const layer = (dimensions: Option.Option<number>) =>
        layerTransformers({
          model: "Xenova/all-MiniLM-L6-v2",
          batchSize: 2,
          dimensions,
          loader: async (model, options) => {
            loads.push({ model, localFilesOnly: options.localFilesOnly })
            return fakeExtractor(6, calls)
          }
        })
      const embedder = yield* Effect.provide(Embedder, layer(Option.some(6)))
      expect(embedder.id).toBe("transformers:Xenova/all-MiniLM-L6-v2")
      expect(embedder.dimensions).toBe(6)
      expect(loads).toEqual([{ model: "Xenova/all-MiniLM-L6-v2", localFilesOnly: false }])
      const vectors = yield* embedder.embed(["a", "bb", "ccc"], "document")
      expect(calls.slice(1)).toEqual([["a", "bb"], ["ccc"]])
      expect(vectors.map((v) => norm(v))).toEqual(vectors.map(() => expect.closeTo(1, 5)))
      const mismatch = yield* Effect.flip(Effect.provide(Embedder, layer(Option.some(384))))
      expect(mismatch.reason).toBe("config")
    }))

  it.effect("maps loader failures to unavailable", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.provide(
          Embedder,
          layerTransformers({
            model: "Xenova/all-MiniLM-L6-v2",
            batchSize: 8,
            dimensions: Option.none(),
            loader: () => Promise.reject(new Error("fetch failed\nstack"))
          })
        )
      )
      expect(error.reason).toBe("unavailable")
      expect(error.message).toBe("transformers.js could not load Xenova/all-MiniLM-L6-v2: fetch failed")
    }))

  it.scoped("runs a real model from a local directory through @huggingface/transformers", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-tiny-bert-"))),
        (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
      )
      const modelDir = path.join(dir, "tiny-bert")
      writeTinyBertModel(modelDir, ["i", "moved", "to", "berlin", "for", "a", "new", "job", "chocolate", "cake", "work"], 8)
      const embedder = yield* buildEmbedder(layerTransformers({ model: modelDir, batchSize: 2, dimensions: Option.some(8) }))
      expect(embedder.id).toBe(`transformers:${modelDir}`)
      expect(embedder.dimensions).toBe(8)
      const texts = ["I moved to Berlin for a new job", "moved to Berlin for work", "chocolate cake", "I moved to Berlin for a new job"]
      const vectors = yield* embedder.embed(texts, "document")
      expect(vectors.map((v) => v.length)).toEqual([8, 8, 8, 8])
      for (const v of vectors) expect(norm(v)).toBeCloseTo(1, 4)
      expect(cosine(vectors[0]!, vectors[3]!)).toBeCloseTo(1, 5)
      expect(cosine(vectors[0]!, vectors[1]!)).toBeGreaterThan(cosine(vectors[0]!, vectors[2]!))
      // Each text is pooled on its own: batching must not change a vector.
      const [alone] = yield* embedder.embed([texts[2]!], "query")
      expect(Array.from(alone!).map((x) => x.toFixed(5))).toEqual(Array.from(vectors[2]!).map((x) => x.toFixed(5)))
    }), 120_000)

  // A real model needs files that the hub would serve; point this at a downloaded directory
  // (e.g. Xenova/all-MiniLM-L6-v2 with config.json, tokenizer.json and onnx/model.onnx).
  const modelDir = process.env.OPENCLAW_TEST_EMBEDDING_MODEL_DIR
  it.effect.skipIf(modelDir === undefined)("runs a real model from OPENCLAW_TEST_EMBEDDING_MODEL_DIR", () =>
    Effect.gen(function*() {
      const embedder = yield* Embedder
      const [a, b, c] = yield* embedder.embed(
        ["I moved to Berlin for a new job", "Last year I relocated to Berlin for work", "My favourite dessert is chocolate cake"],
        "document"
      )
      expect(norm(a!)).toBeCloseTo(1, 4)
      expect(cosine(a!, b!)).toBeGreaterThan(cosine(a!, c!))
    }).pipe(Effect.provide(layerTransformers({ model: modelDir ?? "", batchSize: 8, dimensions: Option.none() }))), 120_000)
})

// ------------------------------------------------------------------------------------------------
// selection by configuration

describe("embedderLayerFromConfig", () => {
  const select = (env: Record<string, string>) => embedderSelectionFromConfig.pipe(withEnv(env))

  it.effect("picks the built-in embedder by default and with EMBEDDING_MODEL=builtin", () =>
    Effect.gen(function*() {
      expect(yield* select({})).toEqual({ kind: "builtin", dimensions: 384 })
      expect(yield* select({ EMBEDDING_MODEL: "builtin", VECTOR_DIMS: "256" })).toEqual({ kind: "builtin", dimensions: 256 })
      const embedder = yield* Effect.provide(Embedder, embedderLayerFromConfig).pipe(
        withEnv({ VECTOR_DIMS: "128" }),
        Effect.provide(NodeHttpClient.layerUndici)
      )
      expect(embedder.id).toBe("builtin-hash-v1:128")
    }))

  it.effect("picks the OpenAI-compatible embedder for openai:<model> and for EMBEDDING_BASE_URL", () =>
    Effect.gen(function*() {
      const openai = (yield* select({ EMBEDDING_MODEL: "openai:text-embedding-3-small", EMBEDDING_API_KEY: SECRET })) as Extract<
        EmbedderSelection,
        { kind: "openai" }
      >
      expect(openai.kind).toBe("openai")
      expect(openai.model).toBe("text-embedding-3-small")
      expect(openai.baseUrl).toBe("https://api.openai.com")
      expect(openai.batchSize).toBe(64)
      expect(Duration.toMillis(openai.timeout)).toBe(30_000)
      expect(Option.map(openai.apiKey, Redacted.value)).toEqual(Option.some(SECRET))
      expect(JSON.stringify(openai)).not.toContain(SECRET)

      const ollama = (yield* select({
        EMBEDDING_MODEL: "nomic-embed-text",
        EMBEDDING_BASE_URL: "http://127.0.0.1:11434",
        EMBEDDING_TIMEOUT_MS: "5000",
        EMBEDDING_BATCH: "16",
        VECTOR_DIMS: "768"
      })) as Extract<EmbedderSelection, { kind: "openai" }>
      expect(ollama).toMatchObject({ kind: "openai", model: "nomic-embed-text", baseUrl: "http://127.0.0.1:11434", batchSize: 16 })
      expect(ollama.dimensions).toEqual(Option.some(768))
      expect(Duration.toMillis(ollama.timeout)).toBe(5000)
    }))

  it.scopedLive("builds the HTTP layer against the configured endpoint", () =>
    Effect.gen(function*() {
      const fake = yield* FakeOpenAiEmbeddingsServer.start
      fake.reply({ kind: "embeddings", dims: 5 }, { kind: "embeddings", dims: 5 })
      const embedder = yield* buildEmbedder(Layer.provide(embedderLayerFromConfig, NodeHttpClient.layerUndici)).pipe(
        withEnv({ EMBEDDING_MODEL: "openai:bge-m3", EMBEDDING_BASE_URL: fake.baseUrl, EMBEDDING_API_KEY: SECRET })
      )
      yield* embedder.embed(["still connected after the build"], "document")
      expect(fake.requests).toHaveLength(2)
      expect(embedder.id).toBe("openai:bge-m3:5")
      expect(fake.requests[0]!.headers.authorization).toBe(`Bearer ${SECRET}`)
    }))

  it.effect("picks transformers.js for any other model", () =>
    Effect.gen(function*() {
      expect(yield* select({ EMBEDDING_MODEL: "Xenova/all-MiniLM-L6-v2" })).toMatchObject({
        kind: "transformers",
        model: "Xenova/all-MiniLM-L6-v2",
        batchSize: 64
      })
      const error = yield* Effect.flip(
        Effect.provide(Embedder, embedderLayerFromConfig).pipe(
          withEnv({ EMBEDDING_MODEL: "/nonexistent/openclaw-model" }),
          Effect.provide(NodeHttpClient.layerUndici)
        )
      )
      expect(error.reason).toBe("config")
    }))

  it.effect("rejects invalid configuration with reason config", () =>
    Effect.gen(function*() {
      for (const env of [
        { VECTOR_DIMS: "zero" },
        { EMBEDDING_BATCH: "0", EMBEDDING_MODEL: "openai:x" },
        { EMBEDDING_BASE_URL: "http://127.0.0.1:11434" },
        { EMBEDDING_MODEL: "openai:" },
        { EMBEDDING_MODEL: "m", EMBEDDING_BASE_URL: "ftp://example.invalid" }
      ]) {
        const error = yield* Effect.flip(select(env))
        expect(error.reason, JSON.stringify(env)).toBe("config")
      }
    }))
})
