import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer } from "effect"
import { normalizeMessages, type NormalizedMessage } from "../src/domain/Memory.js"
import { Analyzer, DEFAULT_EPHEMERAL_TTL_MS, makeAnalyzer } from "../src/services/Analyzer.js"
import { parseLocator } from "../src/services/analyzer/locator.js"
import { splitSentences } from "../src/services/analyzer/text.js"

const analyzer = makeAnalyzer({
  sensitiveFilterEnabled: true,
  sensitiveDeny: [],
  sensitiveAllow: [],
  ephemeralTtlMs: DEFAULT_EPHEMERAL_TTL_MS
})

const NOW = 1_700_000_000_000

const user = (...texts: ReadonlyArray<string>) => normalizeMessages(texts.map((content) => ({ role: "user", content }))).messages

const one = (text: string) => {
  const { memories, filtered } = analyzer.analyze({ sessionId: "chat-1", messages: user(text), nowMs: NOW })
  expect(filtered).toEqual([])
  expect(memories).toHaveLength(1)
  return memories[0]!
}

const withEnv = (env: Record<string, string>) => Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

// Secrets are assembled at run time so no literal credential sits in the repository.
const rand = (alphabet: string, n: number, seed = 7) => {
  let x = seed
  let out = ""
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648
    out += alphabet[x % alphabet.length]
  }
  return out
}
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
const UPPER_NUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url")
const SECRETS = {
  openai: "sk-" + rand(ALNUM, 48),
  openaiProject: "sk-proj-" + rand(ALNUM + "_-", 60, 11),
  githubClassic: "ghp" + "_" + rand(ALNUM, 36, 3),
  githubOauth: "gho" + "_" + rand(ALNUM, 36, 5),
  githubFine: "github_pat_" + rand(ALNUM, 22, 9) + "_" + rand(ALNUM, 59, 13),
  aws: "AKIA" + rand(UPPER_NUM, 16, 17),
  slack: "xoxb-" + "1234567890" + "-" + rand(ALNUM, 24, 19),
  google: "AIza" + rand(ALNUM + "_-", 35, 23),
  jwt: b64url({ alg: "HS256", typ: "JWT" }) + "." + b64url({ sub: "42", name: "x" }) + "." + rand(ALNUM, 43, 29),
  pem: ["-----BEGIN RSA PRIVATE KEY-----", rand(ALNUM, 64, 31), rand(ALNUM, 64, 37), "-----END RSA PRIVATE KEY-----"].join("\n"),
  pemOpenssh: ["-----BEGIN OPENSSH PRIVATE KEY-----", rand(ALNUM, 70, 41), "-----END OPENSSH PRIVATE KEY-----"].join("\n")
}

describe("tokenize", () => {
  it("segments Chinese clauses into words instead of one blob", () => {
    const tokens = analyzer.tokenize("我明天要去北京开会")
    expect(tokens).toEqual(expect.arrayContaining(["明天", "北京", "开会"]))
    expect(tokens).not.toContain("我明天要去北京开会")
    expect(Math.max(...tokens.map((t) => t.length))).toBeLessThanOrEqual(3)
  })

  it("handles mixed Chinese and English in one sentence", () => {
    const tokens = analyzer.tokenize("我们公司用Python开发网站，deploy到Kubernetes集群")
    expect(tokens).toEqual(expect.arrayContaining(["公司", "python", "开发", "网站", "deploy", "kubernetes", "集群"]))
    expect(tokens.some((t) => /[a-z]/.test(t) && /[\u4e00-\u9fff]/u.test(t))).toBe(false)
  })

  it("removes stop words and role words in both languages", () => {
    const tokens = analyzer.tokenize("The user told the assistant that the system crashed; 用户和助手都在这里")
    for (const w of ["the", "user", "assistant", "system", "that", "is", "用户", "助手", "和", "都", "在", "这里"]) {
      expect(tokens).not.toContain(w)
    }
    expect(tokens).toContain("told")
    expect(tokens).toContain("crashed")
  })

  it("lower-cases, NFKC-normalizes, keeps numbers and drops single Latin letters", () => {
    expect(analyzer.tokenize("ＰＹＴＨＯＮ version 3.11 on port 8080 x y z")).toEqual(["python", "version", "3.11", "port", "8080"])
    expect(analyzer.tokenize("I don’t LIKE Rust")).toEqual(["rust"])
  })

  it("keeps single CJK characters unless they are stop words", () => {
    const tokens = analyzer.tokenize("我喜欢喝咖啡的")
    expect(tokens).toEqual(expect.arrayContaining(["喜欢", "喝", "咖啡"]))
    expect(tokens).not.toContain("我")
    expect(tokens).not.toContain("的")
  })

  it("lexical tokens add CJK bigrams for recall", () => {
    const tokens = analyzer.lexicalTokens("我住在北京海淀区")
    expect(tokens).toEqual(expect.arrayContaining(["住在", "北京", "京海", "海淀"]))
    expect(analyzer.lexicalTokens("hello world again")).toEqual(analyzer.tokenize("hello world again"))
  })

  it("splits sentences on English and CJK ends and newlines but not inside numbers or domains", () => {
    expect(splitSentences("Version 1.2 is on example.com. Dr. Smith agreed! 好的。我明天去；然后呢？\nnext line")).toEqual([
      "Version 1.2 is on example.com.",
      "Dr. Smith agreed!",
      "好的。",
      "我明天去；",
      "然后呢？",
      "next line"
    ])
  })
})

describe("normalizeMessages", () => {
  it("accepts the three shapes, skips non-text parts and counts junk", () => {
    const { messages, ignored } = normalizeMessages([
      { role: "user", content: "I live in Berlin" },
      { role: "assistant", content: [{ type: "text", text: "Noted." }, { type: "image", url: "x.png" }, { type: "text", text: "Berlin it is." }] },
      { type: "message", message: { role: "user", content: [{ type: "text", text: "我住在北京" }] } },
      { type: "session", id: "abc" },
      { role: "user" },
      "just a string",
      null,
      42,
      { role: "user", content: [{ type: "image", url: "y.png" }] },
      { type: "message", message: { role: "User", content: "  trimmed  " } }
    ])
    expect(ignored).toBe(6)
    expect(messages.map((m) => [m.index, m.role, m.text])).toEqual([
      [0, "user", "I live in Berlin"],
      [1, "assistant", "Noted.\nBerlin it is."],
      [2, "user", "我住在北京"],
      [9, "user", "trimmed"]
    ])
    expect(messages[0]!.hash).toBe(createHash("sha256").update("user\nI live in Berlin").digest("hex"))
    expect(messages[0]!.hash).not.toBe(normalizeMessages([{ role: "assistant", content: "I live in Berlin" }]).messages[0]!.hash)
  })
})

const KINDS = {
  rule: [
    "Always answer in English.",
    "Never share my address with anyone.",
    "Don't use emojis in code reviews.",
    "From now on, reply in bullet points.",
    "You must cite sources for every claim.",
    "以后回答问题必须用中文",
    "不要在回复里使用表情符号",
    "永远不要泄露我的电话号码",
    "请始终用简体中文回复我",
    "代码示例务必加上类型注解"
  ],
  preference: [
    "I prefer dark mode in my editor.",
    "I like jazz more than rock.",
    "I hate cilantro.",
    "My favorite color is blue.",
    "I'd rather take the train than fly.",
    "我喜欢喝咖啡",
    "我讨厌香菜",
    "我更偏好安静的餐厅",
    "比起猫我更爱狗",
    "我宁愿坐高铁也不坐飞机"
  ],
  task: [
    "Remind me to call mom tomorrow at 5pm.",
    "I need to renew my passport next month.",
    "Todo: send the invoice to Acme.",
    "Don't forget to buy milk on the way home.",
    "I have to finish the quarterly report by Friday.",
    "提醒我明天下午三点给妈妈打电话",
    "我明天要去北京开会",
    "记得周五之前交报告",
    "别忘了给车加油",
    "下周一要提交季度预算"
  ],
  ephemeral: [
    "I'm at the airport right now.",
    "Today I feel really tired.",
    "This afternoon I'm working from the cafe.",
    "I'm stuck in traffic at the moment.",
    "Tonight we are having pizza for dinner.",
    "今天下午我在机场",
    "刚才我吃了午饭",
    "我现在有点头疼",
    "今天北京下大雨",
    "此刻我正在开车回家"
  ],
  fact: [
    "I live in Berlin.",
    "My sister is a doctor in Toronto.",
    "Our team uses PostgreSQL for billing.",
    "I was born in 1990.",
    "The staging server runs on port 8080.",
    "我住在北京",
    "我的生日是5月3日",
    "我们公司用Python开发后端",
    "我女儿在上小学三年级",
    "张三是我们的产品经理"
  ]
} as const

describe("memory kinds", () => {
  for (const [kind, examples] of Object.entries(KINDS)) {
    it(`classifies ${kind} in English and Chinese`, () => {
      for (const text of examples) expect({ text, kind: one(text).kind }).toEqual({ text, kind })
    })
  }

  it("a lasting fact stated with 'now' is not ephemeral", () => {
    expect(one("I now live in Paris.").kind).toBe("fact")
    expect(one("我现在住在上海").kind).toBe("fact")
  })

  it("ephemeral memories expire after EPHEMERAL_TTL_MS, others never", () => {
    expect(one("I'm at the airport right now.").expires_at_ms).toBe(NOW + DEFAULT_EPHEMERAL_TTL_MS)
    expect(one("I live in Berlin.").expires_at_ms).toBeNull()
  })

  it.effect("EPHEMERAL_TTL_MS comes from config", () =>
    Effect.gen(function*() {
      const service = yield* Analyzer
      const { memories } = service.analyze({ sessionId: "s", messages: user("今天下午我在机场"), nowMs: NOW })
      expect(memories[0]!.expires_at_ms).toBe(NOW + 60_000)
    }).pipe(Effect.provide(Analyzer.Default.pipe(Layer.provide(withEnv({ EPHEMERAL_TTL_MS: "60000" })))))
  )

  it("importance follows kind and explicit markers", () => {
    const rule = one("Always answer in English.").importance
    const fact = one("I live in Berlin.").importance
    const ephemeral = one("I'm at the airport right now.").importance
    const marked = one("Important: my blood type is O negative.").importance
    const markedZh = one("记住，我的血型是O型").importance
    expect(rule).toBeGreaterThan(fact)
    expect(fact).toBeGreaterThan(ephemeral)
    expect(marked).toBeGreaterThan(fact + 0.15)
    expect(markedZh).toBeGreaterThan(fact + 0.15)
    for (const v of [rule, fact, ephemeral, marked, markedZh]) {
      expect(v).toBeGreaterThanOrEqual(0)
      expect(v).toBeLessThanOrEqual(1)
    }
  })
})

describe("subjects and memory keys", () => {
  it("the same functional predicate shares a key across values and languages", () => {
    const berlin = one("I live in Berlin.")
    const paris = one("I live in Paris.")
    expect(berlin.subject).toBe("user")
    expect(berlin.memory_key).toBe(paris.memory_key)
    const beijing = one("我住在北京")
    const shanghai = one("我住在上海")
    expect(beijing.subject).toBe("user")
    expect(beijing.memory_key).toBe(shanghai.memory_key)
    expect(beijing.memory_key).toBe(berlin.memory_key)
    expect(one("I work at Google.").memory_key).not.toBe(berlin.memory_key)
  })

  it("names, attributes and set-valued predicates", () => {
    expect(one("My name is Alice.").memory_key).toBe(one("我叫李明").memory_key)
    expect(one("My name is Alice.").memory_key).toBe(one("我的名字是张三").memory_key)
    expect(one("My favorite color is blue.").memory_key).toBe(one("My favorite color is green.").memory_key)
    expect(one("I like tea.").memory_key).not.toBe(one("I like coffee.").memory_key)
    expect(one("Always answer in English.").memory_key).toBe(one("Always answer in Chinese.").memory_key)
  })

  it("named subjects come from the message, never the session or the assistant", () => {
    const alice = one("Alice lives in New York.")
    expect(alice.subject).toBe("Alice")
    expect(alice.memory_key).toBe("alice:live")
    expect(one("Bob lives in Rome.").memory_key).toBe("bob:live")
    const zhang = one("张三住在上海")
    expect(zhang.subject).toBe("张三")
    expect(zhang.memory_key).not.toBe(one("我住在上海").memory_key)
    expect(one("He lives in Oslo.").subject).toBeNull()

    const { memories } = analyzer.analyze({
      sessionId: "session-xyz",
      messages: normalizeMessages([{ role: "assistant", content: "I've scheduled your dentist appointment for Friday at 3pm." }]).messages,
      nowMs: NOW
    })
    expect(memories).toHaveLength(1)
    expect(memories[0]!.subject).not.toBe("assistant")
    expect(memories.flatMap((m) => [m.subject, m.memory_key]).join(" ")).not.toContain("session-xyz")
  })
})

describe("filtering", () => {
  it("reports noise and too_short by message index", () => {
    const { memories, filtered } = analyzer.analyze({
      sessionId: "s",
      messages: user("ok thanks!", "好的，谢谢", "Call mom", "I live in Berlin.", "嗯嗯", "收到"),
      nowMs: NOW
    })
    expect(memories.map((m) => m.content)).toEqual(["I live in Berlin."])
    expect(filtered).toEqual([
      { reason: "noise", message_index: 0 },
      { reason: "noise", message_index: 1 },
      { reason: "too_short", message_index: 2 },
      { reason: "noise", message_index: 4 },
      { reason: "noise", message_index: 5 }
    ])
  })

  it("drops greetings inside a message but keeps its content", () => {
    const memory = one("Thanks! I work at Siemens in Munich.")
    expect(memory.content).toBe("I work at Siemens in Munich.")
  })

  it("keeps assistant decisions, drops assistant chatter, ignores system and tool messages", () => {
    const { messages } = normalizeMessages([
      { role: "system", content: "You are a helpful assistant with memory." },
      { role: "assistant", content: "Sure! Would you like me to help with anything else?" },
      { role: "assistant", content: "已经为你设置了每周一早上九点的提醒" },
      { role: "tool", content: "{\"ok\":true, \"result\": 42}" }
    ])
    const { memories, filtered } = analyzer.analyze({ sessionId: "s", messages, nowMs: NOW })
    expect(memories.map((m) => m.content)).toEqual(["已经为你设置了每周一早上九点的提醒"])
    expect(filtered.map((f) => f.message_index)).toEqual([0, 1, 3])
  })

  it("merges near-duplicates, keeping the longer one and reporting the other", () => {
    const { memories, filtered } = analyzer.analyze({
      sessionId: "s",
      messages: user(
        "I live in Berlin with my wife and two kids.",
        "I live in Munich.",
        "I live in Berlin with my wife and two kids!!",
        "I live in Berlin, with my wife and our two kids."
      ),
      nowMs: NOW
    })
    expect(filtered).toEqual([{ reason: "duplicate", message_index: 0 }, { reason: "duplicate", message_index: 2 }])
    expect(memories.map((m) => m.content)).toEqual(["I live in Munich.", "I live in Berlin, with my wife and our two kids."])
  })

  it("keeps the older one when it is longer", () => {
    const { memories, filtered } = analyzer.analyze({
      sessionId: "s",
      messages: user("我住在北京海淀区，离公司很近。", "我住在北京海淀区离公司很近"),
      nowMs: NOW
    })
    expect(filtered).toEqual([{ reason: "duplicate", message_index: 1 }])
    expect(memories.map((m) => m.content)).toEqual(["我住在北京海淀区，离公司很近。"])
  })

  it("does not merge sentences that merely overlap", () => {
    const { memories, filtered } = analyzer.analyze({
      sessionId: "s",
      messages: user("I like green tea in the morning.", "I like black coffee in the evening."),
      nowMs: NOW
    })
    expect(filtered).toEqual([])
    expect(memories).toHaveLength(2)
  })
})

describe("entities and topics", () => {
  it("finds English entity shapes", () => {
    const entities = analyzer.entities(
      "Ask Alice Smith (@alice_s, alice@example.com) about report_final.pdf and getUserById() at https://example.com/docs; it used 3.5GB on 2024-03-01, costs $120 and is due March 5. Uses AWS in New York."
    )
    for (const e of ["Alice Smith", "@alice_s", "alice@example.com", "report_final.pdf", "getUserById()", "https://example.com/docs", "3.5GB", "2024-03-01", "$120", "March 5", "AWS", "New York"]) {
      expect(entities).toContain(e)
    }
    expect(entities).not.toContain("Ask")
    expect(entities).not.toContain("Uses")
  })

  it("finds Chinese quoted terms and cued place names", () => {
    const entities = analyzer.entities("我们公司叫「深蓝科技」，在读《三体》，下周去杭州出差，张三住在上海")
    expect(entities).toEqual(expect.arrayContaining(["深蓝科技", "三体", "杭州", "上海"]))
    expect(entities).not.toContain("下周")
  })

  it("topics are salient tokens, never stop or role words", () => {
    const topics = analyzer.topics(
      [
        "The user said the assistant should deploy Kubernetes on Friday",
        "Kubernetes cluster upgrade needs a maintenance window",
        "用户说助手要升级Kubernetes集群",
        "lunch was fine"
      ],
      3
    )
    expect(topics[0]).toBe("kubernetes")
    for (const w of ["user", "assistant", "the", "用户", "助手", "said"]) expect(topics).not.toContain(w)
    const memory = one("Our team migrated the billing service from MySQL to PostgreSQL.")
    expect(memory.topics.length).toBeGreaterThan(0)
    expect(memory.topics.every((t) => !["our", "the", "to", "from"].includes(t))).toBe(true)
    expect(memory.tokens).toEqual(expect.arrayContaining(["mysql", "postgresql", "billing"]))
  })

  it("detects the language of each memory", () => {
    expect(one("I live in Berlin.").language).toBe("en")
    expect(one("我住在北京").language).toBe("zh")
    expect(one("我们的API用Kubernetes和PostgreSQL部署在AWS上").language).toBe("mixed")
  })
})

describe("document sessions", () => {
  const doc = (...texts: ReadonlyArray<string>) =>
    analyzer.analyze({
      sessionId: "rustfs:file:f_123",
      messages: normalizeMessages(texts.map((content) => ({ role: "user", content }))).messages,
      nowMs: NOW
    })

  it("keeps every chunk as a document with its locator", () => {
    const { memories, filtered } = doc(
      "[page 3] Revenue grew 12% in Q3.",
      "[slide 2] ok",
      "[section: Introduction]\nThanks!",
      "{\"page\":7,\"section\":\"Appendix\"}\nSee the table below.",
      "[page 4, section: Results] 结果显示增长明显",
      "[第5页] 谢谢",
      "No header here."
    )
    expect(filtered).toEqual([])
    expect(memories.map((m) => m.kind)).toEqual(Array(7).fill("document"))
    expect(memories.map((m) => m.importance)).toEqual(Array(7).fill(0.5))
    expect(memories.map((m) => m.locator)).toEqual([
      { page: 3 },
      { slide: 2 },
      { section: "Introduction" },
      { page: 7, section: "Appendix" },
      { page: 4, section: "Results" },
      { page: 5 },
      null
    ])
    expect(memories.map((m) => m.content)).toEqual([
      "Revenue grew 12% in Q3.",
      "ok",
      "Thanks!",
      "See the table below.",
      "结果显示增长明显",
      "谢谢",
      "No header here."
    ])
    expect(new Set(memories.map((m) => m.memory_key)).size).toBe(7)
    expect(memories.every((m) => m.subject === null && m.expires_at_ms === null)).toBe(true)
  })

  it("locator parsing leaves unknown brackets and invalid numbers in the text", () => {
    expect(parseLocator("[note] hello")).toEqual({ locator: null, body: "[note] hello" })
    expect(parseLocator("[page 0] hello")).toEqual({ locator: null, body: "[page 0] hello" })
    expect(parseLocator("{\"foo\":1} hello")).toEqual({ locator: null, body: "{\"foo\":1} hello" })
    expect(parseLocator("[chunk 9][p. 2] body").locator).toEqual({ chunk: 9, page: 2 })
  })

  it("keeps hashes and ids in documents and redacts only the secret line", () => {
    const sha = createHash("sha256").update("x").digest("hex")
    const { memories, filtered } = doc(
      `Checksum: ${sha}\nBuild id 550e8400-e29b-41d4-a716-446655440000 passed.`,
      `Deploy notes.\nexport OPENAI_API_KEY=${SECRETS.openai}\nThen restart the worker.`,
      `Keys:\n${SECRETS.pem}\nEnd of appendix.`
    )
    expect(filtered).toEqual([])
    expect(memories[0]!.content).toContain(sha)
    expect(memories[1]!.content).toBe("Deploy notes.\n[redacted]\nThen restart the worker.")
    expect(memories[2]!.content).toBe("Keys:\n[redacted]\nEnd of appendix.")
    expect(memories.map((m) => m.content).join("\n")).not.toContain(SECRETS.openai.slice(3))
  })

  it("filters a whole chat message that contains a secret", () => {
    const { memories, filtered } = analyzer.analyze({
      sessionId: "chat",
      messages: user(`My GitHub token is ${SECRETS.githubClassic} please keep it`, "I live in Berlin."),
      nowMs: NOW
    })
    expect(filtered).toEqual([{ reason: "sensitive", message_index: 0 }])
    expect(memories).toHaveLength(1)
  })
})

describe("sensitive filter", () => {
  const positives: Record<string, string> = {
    openai: `use ${SECRETS.openai} for the bot`,
    openaiProject: `OPENAI_API_KEY=${SECRETS.openaiProject}`,
    githubClassic: `token ${SECRETS.githubClassic}`,
    githubOauth: SECRETS.githubOauth,
    githubFine: `gh auth with ${SECRETS.githubFine}`,
    aws: `aws key ${SECRETS.aws} in us-east-1`,
    slack: `slack bot ${SECRETS.slack}`,
    google: `maps key=${SECRETS.google}`,
    jwt: `Authorization: Bearer ${SECRETS.jwt}`,
    pem: SECRETS.pem,
    pemOpenssh: SECRETS.pemOpenssh,
    passwordIs: "my password is hunter2!",
    passwordColon: "wifi password: Tr0ub4dor&3",
    passwordQuoted: "the password is 'correct horse battery staple'",
    passwordZh: "我的密码是abc12345",
    passwordZhColon: "邮箱密码：qwerty789"
  }
  for (const [name, text] of Object.entries(positives)) {
    it(`flags ${name}`, () => {
      const verdict = analyzer.isSensitive(text)
      expect(verdict.sensitive).toBe(true)
      expect(verdict.reason).toEqual(expect.any(String))
    })
  }

  const negatives: Record<string, string> = {
    sha256: `sha256 ${createHash("sha256").update("a").digest("hex")}`,
    sha1: `sha1: ${createHash("sha1").update("a").digest("hex")}`,
    md5: `md5 ${createHash("md5").update("a").digest("hex")}`,
    uuid: "request 550e8400-e29b-41d4-a716-446655440000 failed",
    gitCommit: "fixed in commit 9fceb02d0ae598e95dc970b74767f19372d61af8 (short 9fceb02)",
    base64: `blob ${Buffer.from(rand(ALNUM, 120, 43)).toString("base64")}`,
    policy: "the password policy requires 12 characters",
    passwordRequired: "A password is required for admin accounts.",
    passwordMasked: "password: ********",
    passwordQuestionZh: "我的密码是什么来着？",
    nonJwtDots: "eyJhbGciOi.notjson123.signature99",
    skLearn: "we use sk-learn and scikit-learn for models",
    prose: "I live in Berlin and like tea."
  }
  for (const [name, text] of Object.entries(negatives)) {
    it(`does not flag ${name}`, () => {
      expect(analyzer.isSensitive(text)).toEqual({ sensitive: false })
    })
  }

  it.effect("deny and allow lists from config extend the filter, allow wins", () =>
    Effect.gen(function*() {
      const service = yield* Analyzer
      expect(service.isSensitive("project falcon launches in May").sensitive).toBe(true)
      expect(service.isSensitive("employee id EMP-123456").sensitive).toBe(true)
      expect(service.isSensitive("employee id EMP-000000").sensitive).toBe(false)
      expect(service.isSensitive("use sk-test" + "0000000000000000000000abc for the sandbox").sensitive).toBe(false)
      expect(service.isSensitive(`use ${SECRETS.openai}`).sensitive).toBe(true)
    }).pipe(
      Effect.provide(
        Analyzer.Default.pipe(
          Layer.provide(
            withEnv({
              SENSITIVE_DENY_REGEX_JSON: JSON.stringify(["project\\s+falcon", "EMP-\\d{6}"]),
              SENSITIVE_ALLOW_REGEX_JSON: JSON.stringify(["^EMP-0+$", "^sk-test"])
            })
          )
        )
      )
    )
  )

  it.effect("SENSITIVE_FILTER_ENABLED=false turns detection off", () =>
    Effect.gen(function*() {
      const service = yield* Analyzer
      expect(service.isSensitive(`use ${SECRETS.openai}`).sensitive).toBe(false)
    }).pipe(Effect.provide(Analyzer.Default.pipe(Layer.provide(withEnv({ SENSITIVE_FILTER_ENABLED: "0" })))))
  )

  const startupError = (env: Record<string, string>) =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.provide(Analyzer, Analyzer.Default.pipe(Layer.provide(withEnv(env)))))
      expect(Exit.isFailure(exit)).toBe(true)
      return Exit.isFailure(exit) ? String(exit.cause) : ""
    })

  it.effect("bad regex JSON is a start-up error naming the variable", () =>
    Effect.gen(function*() {
      expect(yield* startupError({ SENSITIVE_DENY_REGEX_JSON: "[not json" })).toContain("SENSITIVE_DENY_REGEX_JSON")
      expect(yield* startupError({ SENSITIVE_ALLOW_REGEX_JSON: "[\"(unclosed\"]" })).toContain("SENSITIVE_ALLOW_REGEX_JSON")
      expect(yield* startupError({ SENSITIVE_DENY_REGEX_JSON: "{\"a\":1}" })).toContain("SENSITIVE_DENY_REGEX_JSON")
      expect(yield* startupError({ SENSITIVE_FILTER_ENABLED: "maybe" })).toContain("SENSITIVE_FILTER_ENABLED")
      expect(yield* startupError({ EPHEMERAL_TTL_MS: "-5" })).toContain("EPHEMERAL_TTL_MS")
    })
  )
})

describe("scale", () => {
  it("analyzes a thousand messages in one batch", () => {
    const base = ["I live in Berlin and work at Siemens", "我明天要去北京开会，记得提醒我", "ok thanks", "I prefer tea over coffee"]
    const messages: Array<NormalizedMessage> = normalizeMessages(
      Array.from({ length: 1000 }, (_, i) => ({ role: "user", content: `${base[i % base.length]} ticket ${i}` }))
    ).messages
    const { memories, filtered } = analyzer.analyze({ sessionId: "s", messages, nowMs: NOW })
    expect(memories.length + filtered.length).toBe(1000)
    expect(filtered.filter((f) => f.reason === "noise")).toHaveLength(0)
  })
})
