/**
 * Stop words for tokenization and topic extraction. Written for this project: function words,
 * pronouns, auxiliaries, fillers and chat-role words that carry no retrieval signal on their own.
 */

export const ROLE_WORDS: ReadonlySet<string> = new Set([
  "user", "users", "assistant", "assistants", "system", "tool", "bot", "ai",
  "用户", "助手", "系统", "机器人", "助理"
])

const english = `
a about above after again against ago all almost along already also although am among an and another
any anybody anyone anything anyway anyways are aren't around as at away back be became because been
before being below beside besides between beyond both but by can can't cannot could couldn't did didn't
do does doesn't doing don't done down during each either else enough etc even ever every everybody
everyone everything few for from further get gets getting go goes going gonna got gotta had hadn't has
hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his how how's however
i i'd i'll i'm i've if in into is isn't it it's its itself just kinda least less let let's lets like
likely made make many may maybe me might mine more most mostly much must mustn't my myself neither
nor not nothing now of off often oh ok okay on once one only onto or other others otherwise ought our
ours ourselves out over own per perhaps please pls quite rather really same shall shan't she she'd
she'll she's should shouldn't since so some somebody someone something sometimes somewhat soon still
such sure than that that's the their theirs them themselves then there there's therefore these they
they'd they'll they're they've thing things this those though through thus to too toward towards
under until up upon us very via was wasn't we we'd we'll we're we've well were weren't what what's
whatever when when's whenever where where's whether which while who who's whoever whom whose why why's
will with within without won't would wouldn't yeah yes yet you always never usually right you'd you'll you're you've your yours
yourself yourselves hi hello hey thanks thank thx yep yup nope uh um hmm lol btw fyi
`

const chinese = `
的 地 得 了 着 过 是 在 有 和 与 及 或 或者 而 而且 并 并且 但 但是 可是 然而 不过 因为 所以 因此 于是
如果 假如 虽然 尽管 即使 只要 只有 除了 为了 为 被 把 将 给 对 对于 关于 从 自 自从 到 向 往 跟 同 比
我 你 您 他 她 它 我们 你们 他们 她们 它们 咱们 大家 自己 人家 都在 也在 还在 正在 我的 你的 他的 她的 它的 我们的 我在 你在
这 那 这个 那个 这些 那些 这里 那里 这儿 那儿 这样 那样 这么 那么 这种 那种 此 其 之 其他 其它 其中 某 某些 每 各
什么 怎么 怎样 怎么样 为什么 哪 哪里 哪儿 哪个 谁 几 多少 如何 是否 吗 呢 吧 啊 呀 哦 嗯 哈 哈哈 嘛 啦 哇 喔 诶 唉
也 都 就 还 又 再 才 只 已 已经 曾经 正在 将要 会 能 能够 可以 可能 应该 要 想 得以 一 一个 一些 一下 不要 以后 必须 总是 永远 一点 一样 一直 一起
个 些 种 次 件 位 很 非常 太 挺 最 更 比较 特别 十分 真 真的 好 不 没 没有 别 非 无 所 等 等等 之类 上 下 中 里 内 外 前 后
然后 接着 另外 此外 还是 就是 也是 都是 不是 就要 还有 那就 的话 来说 一般 其实 确实 当然 还要 所有 一切 任何 有些 有点
`

const words = (list: string) => list.split(/\s+/).filter((w) => w !== "")

export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set(words(english))
export const CHINESE_STOP_WORDS: ReadonlySet<string> = new Set(words(chinese))

export const isStopWord = (token: string): boolean =>
  ENGLISH_STOP_WORDS.has(token) || CHINESE_STOP_WORDS.has(token) || ROLE_WORDS.has(token)
