// ChannelTable: the channels of one connection by id, and the allocation
// of ids. Ids are handed out round robin over 1..limit, so a just-released
// id is not reused at once (a late frame for the old channel is then not
// taken for the new one's). A released id is remembered until it is used
// again, so that such a late frame is recognised and dropped: RabbitMQ can
// still send deliveries on a channel it closed (channel.close) until it has
// our close-ok, and we release the id as soon as we have sent it.

/** What the table needs of a channel. */
interface Numbered {
  readonly channelId: number;
}

export class ChannelTable<C extends Numbered> {
  private readonly byId = new Map<number, C>();
  /** Ids released and not in use again: their late frames are dropped (at most `limit` numbers). */
  private readonly released = new Set<number>();
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
    this.released.delete(ch.channelId);
  }

  /** Free `ch`'s id, unless the id already belongs to another channel. */
  release(ch: C): void {
    if (this.byId.get(ch.channelId) !== ch) return;
    this.byId.delete(ch.channelId);
    this.released.add(ch.channelId);
  }

  /** Whether `id` belonged to a channel that was released and is not in use again. */
  wasReleased(id: number): boolean {
    return this.released.has(id);
  }

  /** Every channel, in id order. */
  list(): C[] {
    return [...this.byId.values()].sort((a, b) => a.channelId - b.channelId);
  }

  /** Every channel, removed from the table (the connection ended). */
  takeAll(): C[] {
    const all = [...this.byId.values()];
    this.byId.clear();
    this.released.clear();
    return all;
  }
}
