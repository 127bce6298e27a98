// Types a channel's layers and its users share: its state, and the shapes
// of the return and cancellation callbacks (generic in the channel class,
// so that the core does not import the public Channel).

import type { BasicProperties } from '../generated/basic.js';
import type { ReturnEnvelope } from './framing/envelope.js';

/** A channel's life: 'opening' → 'open' → 'closing' → 'closed'. */
export type ChannelState = 'opening' | 'open' | 'closing' | 'closed';

/** Called with messages the broker returns; `Ch` is the channel type (Channel). */
export type ReturnCallbackOf<Ch> = (channel: Ch, body: Buffer, envelope: ReturnEnvelope, properties: BasicProperties) => void | Promise<void>;

/** Called when the broker cancels a consumer; `Ch` is the channel type (Channel). */
export type CancellationCallbackOf<Ch> = (channel: Ch, consumerTag: string) => void | Promise<void>;
