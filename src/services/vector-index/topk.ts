/** Bounded min-heap keeping the `capacity` largest scores seen. */
export class TopK {
  readonly scores: Float64Array
  readonly slots: Int32Array
  length = 0

  constructor(readonly capacity: number) {
    this.scores = new Float64Array(capacity)
    this.slots = new Int32Array(capacity)
  }

  /** Scores at or below this cannot enter. */
  get threshold(): number {
    return this.length < this.capacity ? -Infinity : this.scores[0]!
  }

  offer(score: number, slot: number): void {
    const { scores, slots } = this
    if (this.length < this.capacity) {
      let i = this.length++
      while (i > 0) {
        const parent = (i - 1) >> 1
        if (scores[parent]! <= score) break
        scores[i] = scores[parent]!
        slots[i] = slots[parent]!
        i = parent
      }
      scores[i] = score
      slots[i] = slot
      return
    }
    if (this.capacity === 0 || score <= scores[0]!) return
    const n = this.length
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      const child = right < n && scores[right]! < scores[left]! ? right : left
      if (scores[child]! >= score) break
      scores[i] = scores[child]!
      slots[i] = slots[child]!
      i = child
    }
    scores[i] = score
    slots[i] = slot
  }

  /** Best first. */
  sorted(): Array<{ slot: number; score: number }> {
    const out: Array<{ slot: number; score: number }> = []
    for (let i = 0; i < this.length; i++) out.push({ slot: this.slots[i]!, score: this.scores[i]! })
    return out.sort((a, b) => b.score - a.score || a.slot - b.slot)
  }
}
