/**
 * A small predicate lexicon for memory keys. `functional` predicates hold one value at a time for a
 * subject (where you live, your name), so a later statement replaces an earlier one and the key is
 * subject + predicate; every other predicate is set-valued (you can like tea and coffee) and its key
 * also carries the object's head word.
 */

interface Predicate {
  readonly canonical: string
  readonly functional: boolean
}

const f = (canonical: string): Predicate => ({ canonical, functional: true })
const s = (canonical: string): Predicate => ({ canonical, functional: false })

const ENGLISH_BASE = `
be have do live work like love enjoy prefer hate dislike want need use know speak eat drink play visit read
watch go come move call name own study learn teach write answer reply respond run build make meet start
finish buy sell pay send remind remember forget plan travel fly drive ride take give get keep stay leave
join manage lead avoid support deploy store save schedule book cook wear sleep wake marry graduate attend
believe think feel become grow earn weigh cost host listen follow open close set change switch install
upgrade update email text check review merge release ship launch hire quit retire develop design test fix
debug try miss hope wish expect reside relocate prefer bear born format address respond include share tell show
ask explain summarize translate add remove delete create cite mention sign print list put bring ping notify
contact renew cancel order return pick prepare submit walk feed water clean wash charge backup`

const ENGLISH: ReadonlyMap<string, Predicate> = new Map([
  ...ENGLISH_BASE.split(/\s+/).filter((w) => w !== "").map((w) => [w, s(w)] as const),
  ["live", f("live")], ["reside", f("live")], ["relocate", f("live")], ["move", f("live")],
  ["work", f("work")], ["name", f("name")], ["born", f("born")], ["bear", f("born")],
  ["answer", f("respond")], ["reply", f("respond")], ["respond", f("respond")], ["address", f("address")],
  ["format", f("format")], ["weigh", f("weigh")], ["earn", f("earn")], ["wake", f("wake")], ["marry", f("marry")],
  ["graduate", f("graduate")], ["retire", f("retire")]
])

const IRREGULAR: ReadonlyMap<string, string> = new Map(Object.entries({
  is: "be", am: "be", are: "be", was: "be", were: "be", been: "be", being: "be", "'m": "be", "'re": "be",
  has: "have", had: "have", having: "have", does: "do", did: "do", done: "do", went: "go", gone: "go",
  came: "come", ate: "eat", eaten: "eat", drank: "drink", drunk: "drink", wrote: "write", written: "write",
  ran: "run", made: "make", met: "meet", bought: "buy", sold: "sell", paid: "pay", sent: "send", took: "take",
  taken: "take", gave: "give", given: "give", got: "get", gotten: "get", kept: "keep", left: "leave", led: "lead",
  flew: "fly", flown: "fly", drove: "drive", driven: "drive", rode: "ride", taught: "teach", learnt: "learn",
  spoke: "speak", spoken: "speak", knew: "know", known: "know", wore: "wear", worn: "wear", slept: "sleep",
  woke: "wake", thought: "think", felt: "feel", became: "become", grew: "grow", grown: "grow", built: "build",
  began: "begin", begun: "begin", set: "set", quit: "quit", cost: "cost", read: "read", born: "born", borne: "born"
}))

/** The lexicon lemma of an English word form, if it is a known verb. */
export const englishLemma = (word: string): string | undefined => {
  const w = word.toLowerCase()
  if (ENGLISH.has(w)) return w
  const irregular = IRREGULAR.get(w)
  if (irregular !== undefined) return irregular
  const candidates: Array<string> = []
  if (w.endsWith("ies")) candidates.push(w.slice(0, -3) + "y")
  if (w.endsWith("es")) candidates.push(w.slice(0, -2))
  if (w.endsWith("s")) candidates.push(w.slice(0, -1))
  if (w.endsWith("ied")) candidates.push(w.slice(0, -3) + "y")
  if (w.endsWith("ed")) candidates.push(w.slice(0, -2), w.slice(0, -1), w.slice(0, -3))
  if (w.endsWith("ing")) candidates.push(w.slice(0, -3), w.slice(0, -3) + "e", w.slice(0, -4))
  return candidates.find((c) => c.length > 1 && ENGLISH.has(c))
}

export const englishPredicate = (lemma: string): Predicate => ENGLISH.get(lemma) ?? s(lemma)

/** Chinese predicate words, longest first so 住在 wins over 住. */
const CHINESE: ReadonlyArray<readonly [string, Predicate]> = ([
  ["居住在", f("live")], ["住在", f("live")], ["居住", f("live")], ["定居", f("live")], ["搬到", f("live")],
  ["搬去", f("live")], ["住", f("live")], ["工作", f("work")], ["上班", f("work")], ["任职", f("work")],
  ["就职", f("work")], ["名叫", f("name")], ["叫做", f("name")], ["叫", f("name")], ["名字", f("name")],
  ["姓名", f("name")], ["出生", f("born")], ["生日", f("birthday")], ["年龄", f("age")], ["岁", f("age")],
  ["回答", f("respond")], ["回复", f("respond")], ["称呼", f("address")], ["时区", f("timezone")],
  ["更喜欢", s("prefer")], ["最喜欢", s("prefer")], ["偏好", s("prefer")], ["喜欢", s("like")], ["热爱", s("like")],
  ["爱", s("like")], ["不喜欢", s("dislike")], ["讨厌", s("dislike")], ["厌恶", s("dislike")], ["受不了", s("dislike")],
  ["使用", s("use")], ["用", s("use")], ["有", s("have")], ["养", s("have")], ["学习", s("study")], ["学", s("study")],
  ["吃", s("eat")], ["喝", s("drink")], ["去", s("go")], ["买", s("buy")], ["打电话", s("call")], ["开会", s("meet")],
  ["见", s("meet")], ["是", s("be")], ["在", s("at")], ["做", s("do")], ["写", s("write")], ["看", s("watch")],
  ["发", s("send")], ["提醒", s("remind")], ["提交", s("submit")], ["完成", s("finish")], ["准备", s("prepare")], ["参加", s("attend")]
] as Array<readonly [string, Predicate]>).sort((a, b) => b[0].length - a[0].length)

const CHINESE_MAP: ReadonlyMap<string, Predicate> = new Map(CHINESE)

export const chinesePredicate = (word: string): Predicate | undefined => {
  const direct = CHINESE_MAP.get(word)
  if (direct !== undefined) return direct
  if (word.length > 1 && /[了着过在到]$/u.test(word)) return CHINESE_MAP.get(word.slice(0, -1))
  return undefined
}

export const isKnownVerb = (word: string): boolean =>
  /[\u4e00-\u9fff]/u.test(word) ? chinesePredicate(word) !== undefined : englishLemma(word) !== undefined
