// ChannelTable: the channels of one connection by id, and the allocation
// of ids. Ids are handed out round robin over 1..limit, so a just-released
// id is not reused at once (a late frame for the old channel is then not
// taken for the new one's).

/** What the table needs of a channel. */
interface Numbered {
  readonly channelId: number;
}

export class ChannelTable<C extends Numbered> {
  private readonly byId = new Map<number, C>();
  private nextId = 1;
  /** Highest usable id: the negotiated channel-max (65535 when unlimited). */
  limit = 0xffff;

  get(id: number): C | undefined {
    return this.byId.get(id);
  }

  /** The next free id, or 0 when every id up to the limit is in use. */
  allocate(): number {
    const max = this.limit;
    if (this.byId.size >= max) return 0;
    for (let i = 0; i < max; i++) {
      const id = this.nextId;
      this.nextId = id >= max ? 1 : id + 1;
      if (!this.byId.has(id)) return id;
    }
    return 0;
  }

  add(ch: C): void {
    this.byId.set(ch.channelId, ch);
  }

  /** Free `ch`'s id, unless the id already belongs to another channel. */
  release(ch: C): void {
    if (this.byId.get(ch.channelId) === ch) this.byId.delete(ch.channelId);
  }

  /** Every channel, in id order. */
  list(): C[] {
    return [...this.byId.values()].sort((a, b) => a.channelId - b.channelId);
  }

  /** Every channel, removed from the table (the connection ended). */
  takeAll(): C[] {
    const all = [...this.byId.values()];
    this.byId.clear();
    return all;
  }
}
