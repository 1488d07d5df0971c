// Function words that the built-in embedder down-weights (it has no corpus statistics, so this
// list stands in for IDF). Lowercase, after NFKC.

export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set(
  (
    "a about above after again against all am an and any are aren't as at be because been before being below " +
    "between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each " +
    "few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself " +
    "him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most " +
    "mustn't my myself no nor not of off on once only or other ought our ours ourselves out over own same shan't " +
    "she she'd she'll she's should shouldn't so some such than that that's the their theirs them themselves then " +
    "there there's these they they'd they'll they're they've this those through to too under until up very was " +
    "wasn't we we'd we'll we're we've were weren't what what's when when's where where's which while who who's " +
    "whom why why's will with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves " +
    "also just really us get got"
  ).split(" ")
)

/** Single characters: they weigh little as unigrams and halve the bigrams they are part of. */
export const CHINESE_STOP_CHARS: ReadonlySet<string> = new Set(
  "的了是在和与及也就都而着过吗呢吧啊呀么之其把被让给对从向于以为我你他她它们这那个有一此该所吧哦嗯".split("")
)

export const CHINESE_STOP_WORDS: ReadonlySet<string> = new Set([
  "我们", "你们", "他们", "她们", "它们", "咱们", "这个", "那个", "这些", "那些", "这里", "那里", "什么", "怎么",
  "怎样", "为什么", "因为", "所以", "但是", "可是", "不过", "如果", "虽然", "而且", "以及", "或者", "还是", "就是",
  "可以", "已经", "一个", "一些", "没有", "自己", "这样", "那样", "然后", "的话", "一下", "还有", "只是", "之后",
  "以后", "之前", "以前", "其实", "这么", "那么"
])
