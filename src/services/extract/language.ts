import type { Language } from "./types.js"

const sample = 200_000

/** Han characters against Latin words: a Chinese character carries about as much as an English word. */
export const guessLanguage = (texts: ReadonlyArray<string>): Language => {
  let han = 0
  let latinWords = 0
  let seen = 0
  for (const text of texts) {
    const part = text.slice(0, Math.max(0, sample - seen))
    seen += part.length
    han += part.match(/\p{Script=Han}/gu)?.length ?? 0
    latinWords += part.match(/[A-Za-z]{2,}/g)?.length ?? 0
    if (seen >= sample) break
  }
  const total = han + latinWords
  if (total === 0) return "unknown"
  const zhShare = han / total
  if (zhShare >= 0.8) return "zh"
  if (zhShare <= 0.2) return "en"
  return "mixed"
}
